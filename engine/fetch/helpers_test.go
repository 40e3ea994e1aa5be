package fetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/plan"
	"github.com/afflake/afflake/engine/spec"
)

var (
	specsOnce sync.Once
	specSet   *spec.Set
	specErrs  spec.Errors
)

// testSpec returns a copy of a test spec that the test may change.
func testSpec(t testing.TB, name string) *spec.Spec {
	t.Helper()
	specsOnce.Do(func() { specSet, specErrs = spec.Load("testdata/specs") })
	if len(specErrs) > 0 {
		t.Fatalf("test specs: %v", specErrs)
	}
	sp, ok := specSet.Specs[name]
	if !ok {
		t.Fatalf("no test spec %q", name)
	}
	cp := *sp
	return &cp
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var october = plan.Window{Start: utc("2026-10-01T00:00:00Z"), End: utc("2026-10-31T00:00:00Z")}

// collector gathers emitted pages.
type collector struct {
	mu    sync.Mutex
	pages []fetch.Page
}

func (c *collector) emit(p fetch.Page) error {
	c.mu.Lock()
	c.pages = append(c.pages, p)
	c.mu.Unlock()
	return nil
}

// ids returns the values of field in the records at path of every page.
func (c *collector) ids(path, field string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.pages {
		arr := gjson.GetBytes(p.Body, path)
		if path == "" {
			arr = gjson.ParseBytes(p.Body)
		}
		arr.ForEach(func(_, r gjson.Result) bool {
			out = append(out, r.Get(field).String())
			return true
		})
	}
	return out
}

// noSleep records the waits asked for and returns at once.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	n.waits = append(n.waits, d)
	n.mu.Unlock()
	return ctx.Err()
}

func (n *noSleep) got() []time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Duration(nil), n.waits...)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// exactlyOnce checks that got holds every id of want once and nothing
// else.
func exactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s fetched %d times, want once", id, n)
		}
	}
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
		if seen[id] == 0 {
			t.Errorf("record %s not fetched", id)
		}
	}
	for id := range seen {
		if !wantSet[id] {
			t.Errorf("record %s fetched but not in the truth", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
}

// ---------------------------------------------------------------------
// The tests' own API: n records {"id", "at"} paged in every style.

type recorded struct {
	method string
	url    string
	header http.Header
	body   []byte
}

type mockAPI struct {
	n     int
	delay time.Duration
	// pageCap, when set, is the most records a page holds whatever
	// limit was asked for, as APIs that cap their page size silently.
	pageCap int

	mu          sync.Mutex
	reqs        []recorded
	inflight    map[string]int // by credential header
	maxInflight map[string]int
	total       int
	maxTotal    int
	// auth decides whether a request is authenticated; nil accepts all.
	auth func(r *http.Request, body []byte) bool
	// before may answer a request itself (faults); it returns true if so.
	before func(w http.ResponseWriter, r *http.Request, nth int) bool
}

func newMock(t *testing.T, n int) (*mockAPI, *httptest.Server) {
	m := &mockAPI{n: n, inflight: map[string]int{}, maxInflight: map[string]int{}}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *mockAPI) requests() []recorded {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]recorded(nil), m.reqs...)
}

func (m *mockAPI) record(i int) map[string]string {
	return map[string]string{"id": fmt.Sprintf("r%03d", i), "at": "2026-10-01T00:00:00Z"}
}

func (m *mockAPI) slice(from, to int) []map[string]string {
	out := []map[string]string{}
	for i := max(from, 0); i < min(to, m.n); i++ {
		out = append(out, m.record(i))
	}
	return out
}

func (m *mockAPI) allIDs() []string {
	var out []string
	for i := 0; i < m.n; i++ {
		out = append(out, m.record(i)["id"])
	}
	return out
}

func (m *mockAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	cred := r.Header.Get("X-Api-Key") + r.URL.Query().Get("api_key")
	m.mu.Lock()
	nth := len(m.reqs)
	m.reqs = append(m.reqs, recorded{r.Method, r.URL.String(), r.Header.Clone(), body})
	m.inflight[cred]++
	m.maxInflight[cred] = max(m.maxInflight[cred], m.inflight[cred])
	m.total++
	m.maxTotal = max(m.maxTotal, m.total)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inflight[cred]--
		m.total--
		m.mu.Unlock()
	}()
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	if m.before != nil && m.before(w, r, nth) {
		return
	}
	if m.auth != nil && !m.auth(r, body) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid credentials"}`)
		return
	}
	q := r.URL.Query()
	atoi := func(k string, def int) int {
		if v, err := strconv.Atoi(q.Get(k)); err == nil {
			return v
		}
		return def
	}
	out := map[string]any{}
	switch r.URL.Path {
	case "/page":
		p, per := atoi("p", 1), atoi("per", 10)
		out["records"] = m.slice((p-1)*per, p*per)
		out["total_pages"] = (m.n + per - 1) / per
	case "/offset":
		off, lim := atoi("off", 0), atoi("lim", 10)
		if m.pageCap > 0 {
			lim = min(lim, m.pageCap)
		}
		out["records"] = m.slice(off, off+lim)
		out["total"] = m.n
	case "/cursor":
		i := 0
		if a := q.Get("after"); a != "" {
			i, _ = strconv.Atoi(strings.TrimPrefix(a, "c"))
		}
		out["records"] = m.slice(i, i+5)
		out["next"] = ""
		if i+5 < m.n {
			out["next"] = fmt.Sprintf("c%d", i+5)
		}
	case "/link":
		p := atoi("page", 1)
		out["records"] = m.slice((p-1)*6, p*6)
		last := (m.n + 5) / 6
		links := []string{fmt.Sprintf(`</link?page=%d>; rel="last"`, last)}
		if p < last {
			links = append(links, fmt.Sprintf(`</link?page=%d>; title="a, b; c"; rel="next"`, p+1))
		}
		w.Header().Set("Link", strings.Join(links, ", "))
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// ---------------------------------------------------------------------
// The sandbox.

func newSandbox(t testing.TB, o sandbox.Options) (*sandbox.Server, string) {
	t.Helper()
	if o.PerDay == 0 {
		o.PerDay = 6
	}
	if o.RateLimit == nil {
		o.RateLimit = map[string]float64{sandbox.NetworkAwin: 1e6, sandbox.NetworkImpact: 1e6, sandbox.NetworkCJ: 1e6}
	}
	s := sandbox.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// sandboxAccounts returns the sandbox's accounts of a network as fetch
// accounts. An Impact account's SID is its id, not a secret.
func sandboxAccounts(s *sandbox.Server, base, network string) []fetch.Account {
	var out []fetch.Account
	for _, a := range s.Accounts() {
		if a.Network != network {
			continue
		}
		out = append(out, fetch.Account{
			ID: a.ID, Currency: a.Currency, Secrets: a.Secrets,
			BaseURL: base + "/" + network,
			Extra:   map[string]string{"page_size": "100"},
		})
	}
	return out
}

// history returns the windows covering the sandbox's whole history.
func history(t testing.TB, sp *spec.Spec, s *sandbox.Server) []plan.Window {
	t.Helper()
	clock := s.Clock()
	ws, err := plan.Windows(sp, clock.AddDate(0, 0, -92), clock.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func truthIDs(s *sandbox.Server, network, account string) []string {
	var out []string
	for _, tr := range s.Transactions(network, account) {
		out = append(out, tr.ID)
	}
	return out
}
