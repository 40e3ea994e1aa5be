package fetch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/fetch"
)

// reportServer creates report jobs, answers polls with a scripted list
// of states, and serves the CSV on another host (under /files).
type reportServer struct {
	mu       sync.Mutex
	states   []string // the status of each poll, the last repeated
	polls    int
	creates  []map[string]string
	download http.Header
	paths    []string
}

func (rs *reportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.paths = append(rs.paths, r.Method+" "+r.URL.RequestURI())
	if !strings.HasPrefix(r.URL.Path, "/files/") && r.Header.Get("Authorization") != "Bearer tk-5" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/reports":
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		rs.creates = append(rs.creates, body)
		_, _ = io.WriteString(w, `{"job":{"id":"J-1","status":"queued"}}`)
	case r.URL.Path == "/reports/J-1":
		st := rs.states[min(rs.polls, len(rs.states)-1)]
		rs.polls++
		switch st {
		case "done":
			_, _ = io.WriteString(w, `{"status":"done","url":"https://files.example.test/dl/J-1.csv?sig=a%2Fb&exp=1"}`)
		case "local":
			_, _ = io.WriteString(w, `{"status":"done","url":"/reports/J-1/file"}`)
		case "failed":
			_, _ = io.WriteString(w, `{"status":"failed","error":"window too large"}`)
		default:
			fmt.Fprintf(w, `{"status":%q}`, st)
		}
	case r.URL.Path == "/reports/J-1/file":
		rs.download = r.Header.Clone()
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, "id,amount,at\nr9,1.00,2026-10-02T00:00:00Z\n")
	case r.URL.Path == "/files/dl/J-1.csv":
		rs.download = r.Header.Clone()
		if r.URL.RawQuery != "sig=a%2Fb&exp=1" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, "id,amount,at\r\nr1,10.00,2026-10-02T00:00:00Z\r\nr2,2.50,2026-10-03T00:00:00Z\r\n")
	default:
		http.NotFound(w, r)
	}
}

// A report job: created with the window, polled every report.every
// until ready, downloaded from the link the last poll gives (another
// host, reached through the account's origins, without the API's
// credentials); the download is the window's one page.
func TestReportJob(t *testing.T) {
	sp := testSpec(t, "reportjob")
	run := func(states ...string) (*reportServer, *collector, *noSleep, error) {
		rs := &reportServer{states: states}
		srv := httptest.NewServer(rs)
		defer srv.Close()
		ns := &noSleep{}
		c := fetch.New(fetch.Options{Sleep: ns.sleep})
		defer c.Close()
		acct := fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"token": "tk-5"},
			Origins: map[string]string{"https://files.example.test": srv.URL + "/files"}}
		var col collector
		err := c.Fetch(context.Background(), sp, acct, october, col.emit)
		return rs, &col, ns, err
	}

	rs, col, ns, err := run("queued", "running", "done")
	if err != nil {
		t.Fatal(err)
	}
	if len(col.pages) != 1 || col.pages[0].Seq != 1 {
		t.Fatalf("got %d pages, want the download as page 1", len(col.pages))
	}
	exactlyOnce(t, recordIDs(t, sp, col.pages, "id"), []string{"r1", "r2"})
	if got := rs.polls; got != 3 {
		t.Errorf("got %d polls, want 3", got)
	}
	if got := ns.got(); len(got) != 3 || got[0] != 5*time.Second {
		t.Errorf("waited %v, want 5s before each of 3 polls", got)
	}
	want := map[string]string{"type": "transactions", "from": "2026-10-01", "to": "2026-10-31"}
	if len(rs.creates) != 1 || mustJSON(rs.creates[0]) != mustJSON(want) {
		t.Errorf("created %v, want %v", rs.creates, want)
	}
	if rs.download.Get("Authorization") != "" {
		t.Errorf("the download on another host got the API's Authorization header")
	}
	if !strings.HasSuffix(col.pages[0].URL, "/files/dl/J-1.csv?sig=a%2Fb&exp=1") {
		t.Errorf("page URL %q, want the download link as given", col.pages[0].URL)
	}

	// A download on the API's own origin carries its credentials.
	rs, col, _, err = run("local")
	if err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, recordIDs(t, sp, col.pages, "id"), []string{"r9"})
	if rs.download.Get("Authorization") != "Bearer tk-5" {
		t.Errorf("the download on the API's origin was sent without its credentials")
	}

	// A failed job is an error, not a download.
	_, col, _, err = run("running", "failed")
	if !errors.Is(err, fetch.ErrBadResponse) || !strings.Contains(err.Error(), "report job J-1 failed: window too large") || len(col.pages) != 0 {
		t.Errorf("got %v and %d pages, want the job's failure", err, len(col.pages))
	}

	// A job never ready: report.timeout / report.every polls, then an error.
	rs, _, _, err = run("running")
	if !errors.Is(err, fetch.ErrReportTimeout) || rs.polls != 12 {
		t.Errorf("got %v after %d polls, want ErrReportTimeout after 12 (1m / 5s)", err, rs.polls)
	}
}

// Preview renders a report spec's create request and a session spec's
// request with the session masked.
func TestPreviewReportAndSession(t *testing.T) {
	c := fetch.New(fetch.Options{})
	defer c.Close()
	req, err := c.Preview(testSpec(t, "reportjob"), fetch.Account{ID: "a1", Secrets: map[string]string{"token": "tk-5"}}, october)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL != "http://127.0.0.1:1/reports" || req.Header.Get("Authorization") != fetch.Mask {
		t.Errorf("got %s %s %v, want POST /reports with the credentials masked", req.Method, req.URL, req.Header)
	}
	req, err = c.Preview(testSpec(t, "soapsession"), fetch.Account{ID: "c1", Secrets: map[string]string{"passphrase": "p"}}, october)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Body, "<ns1:session>***</ns1:session>") || req.Header.Get("SOAPAction") != `"urn:ws#getTransactions"` {
		t.Errorf("got body %s, headers %v; want the session masked and the SOAPAction", req.Body, req.Header)
	}
}
