package fetch_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/spec"
)

// recordIDs reads every emitted page as the spec's response says and
// returns the field of each record.
func recordIDs(t *testing.T, sp *spec.Spec, pages []fetch.Page, field string) []string {
	t.Helper()
	var out []string
	for _, p := range pages {
		doc, err := extract.Read(p.Body, sp.Response)
		if err != nil {
			t.Fatalf("page %d: %v", p.Seq, err)
		}
		arr, err := doc.Records()
		if err != nil {
			t.Fatalf("page %d: %v", p.Seq, err)
		}
		_ = extract.Each(arr, func(_ int, r gjson.Result) error {
			out = append(out, r.Get(field).String())
			return nil
		})
	}
	return out
}

// A CSV export is paged by offset: the record count comes from the
// converted body, the raw body is emitted as received, and list query
// values are sent as repeated keys in order.
func TestCSVPagesAndRepeatedKeys(t *testing.T) {
	var mu sync.Mutex
	var queries []url.Values
	var raws []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/export.csv" || r.Header.Get("X-Api-Key") != "k-1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		mu.Lock()
		queries = append(queries, q)
		raws = append(raws, r.URL.RawQuery)
		mu.Unlock()
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		var b strings.Builder
		b.WriteString("\ufeffid;amount;at\r\n")
		for i := off; i < min(off+lim, 8); i++ {
			fmt.Fprintf(&b, "r%d;\"1,%d\";2026-10-01T00:00:00Z\r\n", i, i)
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, b.String())
	}))
	defer srv.Close()
	sp := testSpec(t, "csvpaged")
	c := fetch.New(fetch.Options{})
	defer c.Close()
	acct := fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"key": "k-1"}, Extra: map[string]string{"extra_field": "sub id"}}
	var col collector
	if err := c.Fetch(context.Background(), sp, acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	if len(col.pages) != 3 {
		t.Fatalf("got %d pages, want 3 (3+3+2 records)", len(col.pages))
	}
	if !bytes.HasPrefix(col.pages[0].Body, []byte("\ufeffid;amount;at\r\n")) {
		t.Errorf("page 1 body %q, want the CSV as received", col.pages[0].Body)
	}
	exactlyOnce(t, recordIDs(t, sp, col.pages, "id"), []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"})
	for i, q := range queries {
		if got := strings.Join(q["fields[]"], ","); got != "id,amount,sub id" {
			t.Errorf("request %d: fields[] = %q, want id,amount,sub id", i, got)
		}
		if got := strings.Join(q["status"], ","); got != "approved,pending" {
			t.Errorf("request %d: status = %q, want approved,pending (the empty value left out)", i, got)
		}
		if want := "fields%5B%5D=id&fields%5B%5D=amount&fields%5B%5D=sub+id&"; !strings.HasPrefix(raws[i], want) {
			t.Errorf("request %d: query %s, want it to start with %s", i, raws[i], want)
		}
	}
}

// soapServer is a SOAP service with sessions: authenticate opens one,
// getTransactions pages 5 transactions 2 at a time.
type soapServer struct {
	mu       sync.Mutex
	logins   int
	calls    map[string]int // getTransactions calls by customer
	sessions map[string]string
	ctypes   []string
}

const faultBody = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>%s</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`

func (s *soapServer) fault(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, faultBody, msg)
}

func (s *soapServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
	var env struct {
		Session string `xml:"Header>session"`
		Auth    struct {
			Customer   string `xml:"customerID"`
			Passphrase string `xml:"passphrase"`
		} `xml:"Body>authenticate"`
		Get struct {
			From   string `xml:"from"`
			Offset int    `xml:"offset"`
		} `xml:"Body>getTransactions"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		s.fault(w, "malformed envelope: "+err.Error())
		return
	}
	switch r.Header.Get("SOAPAction") {
	case `"urn:ws#authenticate"`:
		s.logins++
		if env.Auth.Passphrase != `p<&>"1` {
			s.fault(w, "Invalid customer or passphrase")
			return
		}
		id := fmt.Sprintf("sess-%d-Qz", s.logins)
		s.sessions[id] = env.Auth.Customer
		fmt.Fprintf(w, `<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:ws"><SOAP-ENV:Body><ns1:authenticateResponse><sessionID>%s</sessionID></ns1:authenticateResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`, id)
	case `"urn:ws#getTransactions"`:
		customer, ok := s.sessions[env.Session]
		if !ok {
			s.fault(w, "Session expired")
			return
		}
		s.calls[customer]++
		if customer == "fault" {
			s.fault(w, "Invalid affiliate site")
			return
		}
		if env.Get.From != "2026-10-01" {
			s.fault(w, "bad from "+env.Get.From)
			return
		}
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:ws"><SOAP-ENV:Body><ns1:getTransactionsResponse><return>`)
		for i := env.Get.Offset; i < min(env.Get.Offset+2, 5); i++ {
			fmt.Fprintf(&b, `<item><ID>t%d</ID><date>2026-10-02T10:00:00</date><amount>%d.50</amount></item>`, i, i)
		}
		b.WriteString(`</return></ns1:getTransactionsResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
		_, _ = io.WriteString(w, b.String())
	default:
		s.fault(w, "unknown SOAPAction "+r.Header.Get("SOAPAction"))
	}
}

func (s *soapServer) expireAll() {
	s.mu.Lock()
	s.sessions = map[string]string{}
	s.mu.Unlock()
}

func (s *soapServer) counts(customer string) (logins, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins, s.calls[customer]
}

// A SOAP service: a session from an XML login, sent back in a SOAP
// header; XML records at a nested element; a Fault saying the session
// expired renews it once; any other Fault fails at once.
func TestSOAPSession(t *testing.T) {
	ss := &soapServer{calls: map[string]int{}, sessions: map[string]string{}}
	srv := httptest.NewServer(ss)
	defer srv.Close()
	sp := testSpec(t, "soapsession")
	var logs syncBuffer
	c := fetch.New(fetch.Options{Logger: debugLogger(&logs)})
	defer c.Close()
	acct := func(id, pass string) fetch.Account {
		return fetch.Account{ID: id, BaseURL: srv.URL, Secrets: map[string]string{"passphrase": pass}}
	}
	fetchOne := func(a fetch.Account) (*collector, error) {
		var col collector
		err := c.Fetch(context.Background(), sp, a, october, col.emit)
		return &col, err
	}

	col, err := fetchOne(acct("c1", `p<&>"1`))
	if err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, recordIDs(t, sp, col.pages, "ID"), []string{"t0", "t1", "t2", "t3", "t4"})
	if logins, calls := ss.counts("c1"); logins != 1 || calls != 3 {
		t.Errorf("got %d logins and %d calls, want 1 and 3", logins, calls)
	}
	for _, p := range col.pages {
		if bytes.Contains(p.RequestBody, []byte("sess-")) || !bytes.Contains(p.RequestBody, []byte("<ns1:session>***</ns1:session>")) {
			t.Errorf("page %d request body shows the session: %s", p.Seq, p.RequestBody)
		}
	}
	for _, ct := range ss.ctypes {
		if ct != "text/xml; charset=utf-8" {
			t.Errorf("got Content-Type %q, want text/xml; charset=utf-8", ct)
		}
	}

	// The session expires: a Fault says so, one new login, the page again.
	ss.expireAll()
	col, err = fetchOne(acct("c1", `p<&>"1`))
	if err != nil {
		t.Fatal(err)
	}
	if logins, _ := ss.counts("c1"); logins != 2 || col.pages[0].Attempts != 2 || len(col.pages) != 3 {
		t.Errorf("got %d logins, %d attempts for page 1, %d pages; want 2, 2, 3", logins, col.pages[0].Attempts, len(col.pages))
	}

	// Any other Fault (status 500) fails the page at once.
	_, err = fetchOne(acct("fault", `p<&>"1`))
	want := "soapsession account fault window 2026-10-01..2026-10-31 page 1: bad response: 500 Internal Server Error: the response reports an error: Invalid affiliate site"
	if !errors.Is(err, fetch.ErrBadResponse) || err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, calls := ss.counts("fault"); calls != 1 {
		t.Errorf("got %d calls, want 1: a Fault is not retried", calls)
	}

	// A refused login is an authentication error, not retried, with no
	// secret in it.
	before, _ := ss.counts("")
	_, err = fetchOne(acct("c2", "wrong&pass"))
	if !errors.Is(err, fetch.ErrAuth) || !strings.Contains(err.Error(), "login: 500 Internal Server Error: Invalid customer or passphrase") {
		t.Errorf("got %v, want ErrAuth with the Fault's message", err)
	}
	if logins, _ := ss.counts(""); logins != before+1 {
		t.Errorf("got %d login requests, want 1", logins-before)
	}
	for _, secret := range []string{"sess-1-Qz", "sess-2-Qz", `p&lt;&amp;&gt;`, "wrong&amp;pass"} {
		if strings.Contains(logs.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Errorf("%q found in the logs or the error", secret)
		}
	}
}

// Next-page URLs on other hosts, and base_url itself, reach the hosts
// the account's origins name.
func TestOrigins(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/a/first":
			_, _ = io.WriteString(w, `{"records":[{"id":"1"}],"next":"https://API2.example.test:443/second?x=1"}`)
		case "/b/second":
			_, _ = io.WriteString(w, `{"records":[{"id":"2"}],"next":"/third"}`)
		case "/a/third":
			_, _ = io.WriteString(w, `{"records":[{"id":"3"}],"next":""}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := fetch.New(fetch.Options{})
	defer c.Close()
	acct := fetch.Account{ID: "a1", Origins: map[string]string{
		"http://127.0.0.1:1":        srv.URL + "/a/",
		"https://api2.example.test": srv.URL + "/b",
	}}
	var col collector
	if err := c.Fetch(context.Background(), testSpec(t, "hosts"), acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	want := []string{"/a/first", "/b/second?x=1", "/a/third"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("got requests %v, want %v", paths, want)
	}
	if len(col.pages) != 3 || col.pages[1].URL != srv.URL+"/b/second?x=1" {
		t.Errorf("got %d pages, page 2 URL %q; want 3 and the URL sent", len(col.pages), col.pages[1].URL)
	}

	bad := fetch.Account{ID: "a1", Origins: map[string]string{"https://api.example.test/path": srv.URL}}
	err := c.Fetch(context.Background(), testSpec(t, "hosts"), bad, october, col.emit)
	if err == nil || !strings.Contains(err.Error(), `account origins: "https://api.example.test/path" is not an origin`) {
		t.Errorf("got %v, want an origins error", err)
	}
}
