package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/spec"
)

func TestPaginationKinds(t *testing.T) {
	tests := []struct {
		name   string
		spec   string
		n      int
		change func(*spec.Spec)
		auth   func(r *http.Request) bool
		// pageCap caps the mock's pages below the spec's limit.
		pageCap int
		pages   int
	}{
		{name: "page with total_pages", spec: "paged", n: 23, pages: 4},
		{name: "page until an empty page", spec: "paged", n: 23, pages: 5,
			change: func(sp *spec.Spec) { sp.TotalPages = nil }},
		{name: "page, exact multiple", spec: "paged", n: 21, pages: 3},
		{name: "offset with total", spec: "offsets", n: 30, pages: 3,
			auth: func(r *http.Request) bool { return r.URL.Query().Get("api_key") == "k-1" }},
		{name: "offset with total, pages capped below the limit", spec: "offsets", n: 30, pageCap: 4, pages: 8},
		{name: "offset until a short page", spec: "offsets", n: 30, pages: 4,
			change: func(sp *spec.Spec) { sp.Total = nil },
			auth:   func(r *http.Request) bool { return r.URL.Query().Get("api_key") == "k-1" }},
		{name: "offset, short last page", spec: "offsets", n: 25, pages: 3,
			change: func(sp *spec.Spec) { sp.Total = nil },
			auth:   func(r *http.Request) bool { return r.URL.Query().Get("api_key") == "k-1" }},
		{name: "cursor in a query parameter", spec: "cursors", n: 23, pages: 5,
			auth: func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == "k-1" }},
		{name: "link header", spec: "linked", n: 23, pages: 4,
			auth: func(r *http.Request) bool { return r.URL.Query().Get("access_token") == "t-1" }},
		{name: "empty result", spec: "cursors", n: 0, pages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, srv := newMock(t, tt.n)
			m.pageCap = tt.pageCap
			if tt.auth != nil {
				m.auth = func(r *http.Request, _ []byte) bool { return tt.auth(r) }
			}
			sp := testSpec(t, tt.spec)
			if tt.change != nil {
				tt.change(sp)
			}
			c := fetch.New(fetch.Options{})
			defer c.Close()
			acct := fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"key": "k-1", "token": "t-1"}}
			var col collector
			if err := c.Fetch(context.Background(), sp, acct, october, col.emit); err != nil {
				t.Fatal(err)
			}
			exactlyOnce(t, col.ids("records", "id"), m.allIDs())
			if len(col.pages) != tt.pages {
				t.Errorf("got %d pages, want %d", len(col.pages), tt.pages)
			}
			for i, p := range col.pages {
				if p.Seq != i+1 || p.Status != 200 || p.Attempts != 1 {
					t.Errorf("page %d: got seq %d status %d attempts %d, want %d 200 1", i, p.Seq, p.Status, p.Attempts, i+1)
				}
			}
			if got := len(m.requests()); got != tt.pages {
				t.Errorf("server got %d requests, want %d", got, tt.pages)
			}
			st := c.Stats()[tt.spec]
			if st.Requests != int64(tt.pages) || st.Pages != int64(tt.pages) || st.Retries != 0 || st.Bytes == 0 {
				t.Errorf("stats %+v, want %d requests and pages, no retries, some bytes", st, tt.pages)
			}
		})
	}
}

// The page kind sends the window and page parameters the spec names.
func TestPageRequestParameters(t *testing.T) {
	m, srv := newMock(t, 10)
	c := fetch.New(fetch.Options{})
	defer c.Close()
	var col collector
	err := c.Fetch(context.Background(), testSpec(t, "paged"), fetch.Account{ID: "a1", BaseURL: srv.URL}, october, col.emit)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range m.requests() {
		got = append(got, r.url)
	}
	want := []string{
		"/page?p=1&per=7&since=2026-10-01T00%3A00%3A00Z",
		"/page?p=2&per=7&since=2026-10-01T00%3A00%3A00Z",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if h := m.requests()[0].header.Get("Accept"); h != "application/json" {
		t.Errorf("got Accept %q, want application/json", h)
	}
}

// Impact pages link to the next page with @nextpageuri, relative to the
// API root.
func TestSandboxNextURL(t *testing.T) {
	s, base := newSandbox(t, sandbox.Options{})
	sp := testSpec(t, "impact")
	c := fetch.New(fetch.Options{})
	defer c.Close()
	for _, acct := range sandboxAccounts(s, base, sandbox.NetworkImpact) {
		var col collector
		windows := history(t, sp, s)
		for _, w := range windows {
			if err := c.Fetch(context.Background(), sp, acct, w, col.emit); err != nil {
				t.Fatal(err)
			}
		}
		truth := truthIDs(s, sandbox.NetworkImpact, acct.ID)
		exactlyOnce(t, col.ids("Actions", "Id"), truth)
		if len(col.pages) <= len(windows) {
			t.Errorf("got %d pages for %d windows: the next URL was never followed", len(col.pages), len(windows))
		}
		if !strings.Contains(col.pages[1].URL, "Page=2") {
			t.Errorf("page 2 URL %q does not ask for Page=2", col.pages[1].URL)
		}
	}
}

// CJ pages are asked for by putting the last maxCommissionId into the
// GraphQL query until payloadComplete.
func TestSandboxGraphQLCursor(t *testing.T) {
	s, base := newSandbox(t, sandbox.Options{PerDay: 8})
	sp := testSpec(t, "cj")
	c := fetch.New(fetch.Options{})
	defer c.Close()
	for _, acct := range sandboxAccounts(s, base, sandbox.NetworkCJ) {
		var col collector
		windows := history(t, sp, s)
		for _, w := range windows {
			if err := c.Fetch(context.Background(), sp, acct, w, col.emit); err != nil {
				t.Fatal(err)
			}
		}
		truth := truthIDs(s, sandbox.NetworkCJ, acct.ID)
		exactlyOnce(t, col.ids("data.publisherCommissions.records", "commissionId"), truth)
		if len(col.pages) <= len(windows) {
			t.Errorf("got %d pages for %d windows: the cursor was never followed", len(col.pages), len(windows))
		}
		var cursorPages int
		for _, p := range col.pages {
			if p.Method != http.MethodPost {
				t.Errorf("got method %s, want POST", p.Method)
			}
			if strings.Contains(string(p.RequestBody), "sinceCommissionId") {
				cursorPages++
			}
		}
		if cursorPages != len(col.pages)-len(windows) {
			t.Errorf("got %d requests with sinceCommissionId, want %d", cursorPages, len(col.pages)-len(windows))
		}
	}
}

func TestPaginationLoop(t *testing.T) {
	for _, network := range []string{sandbox.NetworkImpact, sandbox.NetworkCJ} {
		t.Run(network, func(t *testing.T) {
			s, base := newSandbox(t, sandbox.Options{PerDay: 20, Faults: sandbox.Faults{RepeatCursor: true}})
			sp := testSpec(t, network)
			acct := sandboxAccounts(s, base, network)[0]
			acct.Extra["page_size"] = "50"
			c := fetch.New(fetch.Options{})
			defer c.Close()
			var col collector
			err := c.Fetch(context.Background(), sp, acct, history(t, sp, s)[1], col.emit)
			if !errors.Is(err, fetch.ErrPaginationLoop) {
				t.Fatalf("got %v, want ErrPaginationLoop", err)
			}
			if !strings.Contains(err.Error(), "repeated at page 2") {
				t.Errorf("got %q, want it to say repeated at page 2", err)
			}
			var fe *fetch.Error
			if !errors.As(err, &fe) || fe.Page != 2 || fe.Network != network || fe.Account != acct.ID {
				t.Errorf("got %#v, want an *Error at page 2 of %s account %s", fe, network, acct.ID)
			}
			if len(col.pages) != 2 {
				t.Errorf("got %d pages, want 2", len(col.pages))
			}
		})
	}
}

func TestMaxPages(t *testing.T) {
	m, srv := newMock(t, 50)
	sp := testSpec(t, "paged")
	sp.Pagination.MaxPages = 3
	c := fetch.New(fetch.Options{})
	defer c.Close()
	var col collector
	err := c.Fetch(context.Background(), sp, fetch.Account{ID: "a1", BaseURL: srv.URL}, october, col.emit)
	if !errors.Is(err, fetch.ErrPaginationLoop) || !strings.Contains(err.Error(), "max_pages 3") {
		t.Fatalf("got %v, want ErrPaginationLoop naming max_pages 3", err)
	}
	if len(col.pages) != 3 || len(m.requests()) != 3 {
		t.Errorf("got %d pages and %d requests, want 3 and 3", len(col.pages), len(m.requests()))
	}
}

// A GraphQL error in a 200 response fails the page at once.
func TestResponseErrorExpression(t *testing.T) {
	s, base := newSandbox(t, sandbox.Options{})
	sp := testSpec(t, "cj")
	accts := sandboxAccounts(s, base, sandbox.NetworkCJ)
	acct := accts[0]
	acct.ID = accts[1].ID // a publisher the token does not own
	c := fetch.New(fetch.Options{})
	defer c.Close()
	var col collector
	err := c.Fetch(context.Background(), sp, acct, history(t, sp, s)[0], col.emit)
	if !errors.Is(err, fetch.ErrBadResponse) {
		t.Fatalf("got %v, want ErrBadResponse", err)
	}
	want := "cj account " + acct.ID + " window "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "page 1: ") || !strings.Contains(err.Error(), "Not authorized to access commissions of publisher "+acct.ID) {
		t.Errorf("got %q, want %q… page 1: … the GraphQL message", err, want)
	}
	if len(col.pages) != 0 {
		t.Errorf("emit got %d pages, want none", len(col.pages))
	}
	if got := s.Stats()[sandbox.NetworkCJ].Requests; got != 1 {
		t.Errorf("sandbox got %d requests, want 1", got)
	}
}

// A body the pagination cannot read is handed to emit, then fails.
func TestUnreadableBody(t *testing.T) {
	for _, f := range []struct {
		name   string
		faults sandbox.Faults
	}{
		{"invalid JSON", sandbox.Faults{InvalidJSON: 1}},
		{"truncated body", sandbox.Faults{TruncateBody: 1}},
	} {
		t.Run(f.name, func(t *testing.T) {
			s, base := newSandbox(t, sandbox.Options{Faults: f.faults})
			sp := testSpec(t, "impact")
			acct := sandboxAccounts(s, base, sandbox.NetworkImpact)[0]
			w := history(t, sp, s)[0]
			c := fetch.New(fetch.Options{})
			defer c.Close()
			var col collector
			err := c.Fetch(context.Background(), sp, acct, w, col.emit)
			if !errors.Is(err, fetch.ErrBadResponse) {
				t.Fatalf("got %v, want ErrBadResponse", err)
			}
			want := "impact account " + acct.ID + " window " + w.String() + " page 1: "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %q, want prefix %q", err, want)
			}
			if len(col.pages) != 1 || len(col.pages[0].Body) == 0 {
				t.Fatalf("emit got %d pages, want the broken one", len(col.pages))
			}
			if f.faults.InvalidJSON > 0 && !strings.HasPrefix(string(col.pages[0].Body), `{"oops": `) {
				t.Errorf("emit got body %q, want the sandbox's broken JSON", col.pages[0].Body)
			}
			if got := s.Stats()[sandbox.NetworkImpact].Requests; got != 1 {
				t.Errorf("sandbox got %d requests, want 1 (no retry)", got)
			}
		})
	}
}

// An emit error stops the fetch and is returned with the page.
func TestEmitError(t *testing.T) {
	_, srv := newMock(t, 20)
	c := fetch.New(fetch.Options{})
	defer c.Close()
	stop := errors.New("disk full")
	var mu sync.Mutex
	n := 0
	err := c.Fetch(context.Background(), testSpec(t, "paged"), fetch.Account{ID: "a1", BaseURL: srv.URL}, october, func(fetch.Page) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "page 2: disk full") {
		t.Errorf("got %v, want the emit error at page 2", err)
	}
}
