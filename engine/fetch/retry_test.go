package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/plan"
)

// The sandbox answers 503 three times (with Retry-After: 1 on the first
// and third); the fetch waits as told and completes.
func TestRetry5xx(t *testing.T) {
	s, base := newSandbox(t, sandbox.Options{Faults: sandbox.Faults{Burst5xx: 3}})
	sp := testSpec(t, "impact")
	acct := sandboxAccounts(s, base, sandbox.NetworkImpact)[0]
	w := history(t, sp, s)[0]
	var sl noSleep
	c := fetch.New(fetch.Options{Sleep: sl.sleep})
	defer c.Close()
	var col collector
	if err := c.Fetch(context.Background(), sp, acct, w, col.emit); err != nil {
		t.Fatal(err)
	}
	if len(col.pages) == 0 || col.pages[0].Attempts != 4 {
		t.Fatalf("got pages %d, first with %d attempts, want 4 attempts", len(col.pages), col.pages[0].Attempts)
	}
	waits := sl.got()
	if len(waits) != 3 || waits[0] != time.Second || waits[2] != time.Second || waits[1] < 0 || waits[1] > time.Second {
		t.Errorf("got waits %v, want [1s, backoff ≤ 1s, 1s]", waits)
	}
	if st := c.Stats()["impact"]; st.Retries != 3 {
		t.Errorf("got %d retries, want 3", st.Retries)
	}
	var truth []string
	for _, tr := range s.Transactions(sandbox.NetworkImpact, acct.ID) {
		if !tr.TransactionAt.Before(w.Start) && tr.TransactionAt.Before(w.End) {
			truth = append(truth, tr.ID)
		}
	}
	exactlyOnce(t, col.ids("Actions", "Id"), truth)
}

// A response slower than limits.timeout is abandoned and retried.
func TestRetryTimeout(t *testing.T) {
	m, srv := newMock(t, 5)
	m.before = func(w http.ResponseWriter, r *http.Request, nth int) bool {
		if nth == 0 {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return true
		}
		return false
	}
	sp := testSpec(t, "paged")
	sp.Timeout = 100 * time.Millisecond
	var sl noSleep
	logs := &syncBuffer{}
	c := fetch.New(fetch.Options{Sleep: sl.sleep, Logger: debugLogger(logs)})
	defer c.Close()
	var col collector
	start := time.Now()
	if err := c.Fetch(context.Background(), sp, fetch.Account{ID: "a1", BaseURL: srv.URL}, october, col.emit); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v: the timeout did not cut the slow request", d)
	}
	if col.pages[0].Attempts != 2 || len(sl.got()) != 1 {
		t.Errorf("got %d attempts and waits %v, want 2 attempts and one backoff", col.pages[0].Attempts, sl.got())
	}
	exactlyOnce(t, col.ids("records", "id"), m.allIDs())
	if !strings.Contains(logs.String(), "no complete response within limits.timeout 100ms") {
		t.Errorf("the retry warning does not name the timeout: %s", logs)
	}
}

// Retry-After beyond limits.max_retry_after fails at once with
// ErrRateLimited, in seconds or as an HTTP date.
func TestRetryAfterOverCap(t *testing.T) {
	for _, ra := range []string{"600", time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat)} {
		t.Run(ra, func(t *testing.T) {
			m, srv := newMock(t, 5)
			m.before = func(w http.ResponseWriter, r *http.Request, nth int) bool {
				w.Header().Set("Retry-After", ra)
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			sp := testSpec(t, "paged")
			sp.RetryCap = 2 * time.Minute
			var sl noSleep
			c := fetch.New(fetch.Options{Sleep: sl.sleep})
			defer c.Close()
			var col collector
			err := c.Fetch(context.Background(), sp, fetch.Account{ID: "a1", BaseURL: srv.URL}, october, col.emit)
			if !errors.Is(err, fetch.ErrRateLimited) {
				t.Fatalf("got %v, want ErrRateLimited", err)
			}
			if !strings.Contains(err.Error(), "more than limits.max_retry_after 2m0s") || !strings.HasPrefix(err.Error(), "paged account a1 window 2026-10-01..2026-10-31 page 1: ") {
				t.Errorf("got %q", err)
			}
			if len(m.requests()) != 1 || len(sl.got()) != 0 || len(col.pages) != 0 {
				t.Errorf("got %d requests, waits %v, %d pages; want 1 request, no wait, no page", len(m.requests()), sl.got(), len(col.pages))
			}
		})
	}
}

// Retries are bounded by limits.retries; the error says how many
// attempts were made.
func TestRetriesExhausted(t *testing.T) {
	m, srv := newMock(t, 5)
	m.before = func(w http.ResponseWriter, r *http.Request, nth int) bool {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
		return true
	}
	sp := testSpec(t, "paged")
	sp.Limits.Retries = 2
	var sl noSleep
	c := fetch.New(fetch.Options{Sleep: sl.sleep})
	defer c.Close()
	err := c.Fetch(context.Background(), sp, fetch.Account{ID: "a1", BaseURL: srv.URL}, october, func(fetch.Page) error { return nil })
	var se *fetch.StatusError
	if !errors.As(err, &se) || se.Status != 502 || se.Attempts != 3 {
		t.Fatalf("got %v, want a 502 StatusError after 3 attempts", err)
	}
	if want := "paged account a1 window 2026-10-01..2026-10-31 page 1: 502 Bad Gateway after 3 attempts: <html>bad gateway</html>"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if len(m.requests()) != 3 {
		t.Errorf("got %d requests, want 3", len(m.requests()))
	}
	waits := sl.got()
	if len(waits) != 2 || waits[0] > fetch.BackoffBase || waits[1] > 2*fetch.BackoffBase {
		t.Errorf("got waits %v, want two jittered backoffs under 500ms and 1s", waits)
	}
}

// Wrong credentials: one request, ErrAuth, the API's message, no retry.
func TestWrongCredentials(t *testing.T) {
	s, base := newSandbox(t, sandbox.Options{})
	sp := testSpec(t, "impact")
	acct := sandboxAccounts(s, base, sandbox.NetworkImpact)[0]
	acct.Secrets = map[string]string{"auth_token": "wrong-token-123"}
	w := history(t, sp, s)[0]
	var sl noSleep
	c := fetch.New(fetch.Options{Sleep: sl.sleep})
	defer c.Close()
	var col collector
	err := c.Fetch(context.Background(), sp, acct, w, col.emit)
	if !errors.Is(err, fetch.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	want := "impact account " + acct.ID + " window " + w.String() + ` page 1: 401 Unauthorized: {"Status":"ERROR","Message":"Invalid Account SID or Auth Token"}`
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if n := s.Stats()[sandbox.NetworkImpact].Requests; n != 1 {
		t.Errorf("sandbox got %d requests, want 1", n)
	}
	if len(sl.got()) != 0 || len(col.pages) != 0 {
		t.Errorf("got waits %v and %d pages, want none", sl.got(), len(col.pages))
	}
}

// A 429 storm: the sandbox allows 4 requests a second per credential,
// the spec 8. Every window of both accounts completes, every record
// arrives once, and no credential ever exceeds the spec's rate.
func TestRateLimitStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	s, base := newSandbox(t, sandbox.Options{
		PerDay:    4,
		RateLimit: map[string]float64{sandbox.NetworkImpact: 4},
	})
	sp := testSpec(t, "impact")
	sp.Limits.Rate, sp.Limits.Burst, sp.Limits.Concurrency, sp.Limits.Retries = 8, 1, 4, 10
	c := fetch.New(fetch.Options{})
	defer c.Close()
	accts := sandboxAccounts(s, base, sandbox.NetworkImpact)
	windows, err := plan.Windows(sp, s.Clock().AddDate(0, 0, -92), s.Clock().AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	// 10-day windows: more, smaller requests.
	sp.MaxSpan = 10 * 24 * time.Hour
	windows, _ = plan.Windows(sp, windows[0].Start, windows[len(windows)-1].End)
	cols := make([]collector, len(accts))
	var wg sync.WaitGroup
	errs := make(chan error, len(accts)*len(windows))
	for i, acct := range accts {
		for _, w := range windows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.Fetch(context.Background(), sp, acct, w, cols[i].emit)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, acct := range accts {
		exactlyOnce(t, cols[i].ids("Actions", "Id"), truthIDs(s, sandbox.NetworkImpact, acct.ID))
	}
	st := s.Stats()[sandbox.NetworkImpact]
	if st.Status429 == 0 {
		t.Errorf("the sandbox answered no 429: no storm was tested")
	}
	if limit := sp.Limits.Rate + float64(sp.Limits.Burst); st.MaxObservedRate > limit {
		t.Errorf("observed %v requests in a second, spec allows %v", st.MaxObservedRate, limit)
	}
	t.Logf("%d requests, %d answered 429, max %v/s", st.Requests, st.Status429, st.MaxObservedRate)
}
