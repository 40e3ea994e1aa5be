package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netCase describes how to drive one emulation in the generic tests below:
// every network added after the first three has one.
type netCase struct {
	network string
	// walk fetches every record of the account whose transaction date lies
	// in [from, to) through the API's own windows and pagination, keyed by
	// the id Truth uses, and returns the number of data requests made.
	walk func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int)
	// auth are requests that must be refused.
	auth []check
	// wide is a request over a window wider than the API allows (nil when
	// the API documents no maximum).
	wide *check
	// one is a single data request over the last ten days.
	one func(t *testing.T, s *Server, a Account) reply
	// limited tells a throttled answer in the network's own error shape.
	limited func(r reply) bool
	// minRequests is the least number of requests a full walk needs (to
	// prove pagination is exercised).
	minRequests int
	// lifecycle is the window walked before and after moving the clock, as
	// offsets from the clock, and how far the clock moves; zero means
	// [-40d, -20d) and 40 days.
	lifecycle [3]time.Duration
}

// check is a request and the refusal it must get.
type check struct {
	name   string
	do     func(t *testing.T, s *Server, a Account) reply
	status int
	body   string // a substring of the body
}

func netCases() []netCase {
	return []netCase{
		partnerizeCase(),
		tradedoublerCase(),
		admitadCase(),
		pepperjamCase(),
		everflowCase(),
		epnCase(),
		flexCase(),
		cfCase(),
		skimCase(),
		adtractionCase(),
		sovrnCase(),
		tuneCase(),
		rakutenCase(),
		daisyconCase(),
		webgainsCase(),
		ttCase(),
		shareasaleCase(),
	}
}

func fastOptions() Options {
	rates := map[string]float64{}
	for _, n := range Networks() {
		rates[n] = 1e6
	}
	return Options{PerDay: 6, RateLimit: rates}
}

func accountsOf(s *Server, network string) []Account {
	var out []Account
	for _, a := range s.Accounts() {
		if a.Network == network {
			out = append(out, a)
		}
	}
	return out
}

func TestEveryNetworkHasACase(t *testing.T) {
	have := map[string]bool{NetworkAwin: true, NetworkImpact: true, NetworkCJ: true}
	for _, c := range netCases() {
		have[c.network] = true
	}
	for _, n := range Networks() {
		if !have[n] {
			t.Errorf("network %s has no test case", n)
		}
	}
}

func TestNetworksAuth(t *testing.T) {
	for _, c := range netCases() {
		s := newTest(t, fastOptions())
		a := accountsOf(s, c.network)[0]
		for _, ch := range c.auth {
			t.Run(c.network+"/"+ch.name, func(t *testing.T) {
				r := ch.do(t, s, a)
				if r.status != ch.status || !bytes.Contains(r.body, []byte(ch.body)) {
					t.Errorf("got %d %s, want %d containing %q", r.status, truncate(r.body), ch.status, ch.body)
				}
			})
		}
		t.Run(c.network+"/valid", func(t *testing.T) {
			if r := c.one(t, s, a); r.status != http.StatusOK {
				t.Errorf("valid credentials: %d %s", r.status, truncate(r.body))
			}
		})
	}
}

func TestNetworksWindowTooWide(t *testing.T) {
	for _, c := range netCases() {
		if c.wide == nil {
			continue
		}
		t.Run(c.network, func(t *testing.T) {
			s := newTest(t, fastOptions())
			a := accountsOf(s, c.network)[0]
			r := c.wide.do(t, s, a)
			if r.status != c.wide.status || !bytes.Contains(r.body, []byte(c.wide.body)) {
				t.Errorf("got %d %s, want %d containing %q", r.status, truncate(r.body), c.wide.status, c.wide.body)
			}
		})
	}
}

func TestNetworksWalkCoversTruth(t *testing.T) {
	for _, c := range netCases() {
		t.Run(c.network, func(t *testing.T) {
			s := newTest(t, fastOptions())
			from, to := testClock.Add(-91*24*time.Hour), testClock.Add(time.Second)
			for _, a := range accountsOf(s, c.network) {
				got, n := c.walk(t, s, a, from, to)
				if n < c.minRequests {
					t.Errorf("%s: walk used %d requests, want at least %d", a.ID, n, c.minRequests)
				}
				compareTruth(t, c.network, s.Transactions(c.network, a.ID), got)
				checkCurrency(t, c.network, s.Transactions(c.network, a.ID))
			}
		})
	}
}

// checkCurrency asserts that every truth row has an ISO currency and that
// the amounts are exact decimal text.
func checkCurrency(t *testing.T, network string, truth []Truth) {
	t.Helper()
	for _, tr := range truth {
		if len(tr.Currency) != 3 || strings.ToUpper(tr.Currency) != tr.Currency {
			t.Fatalf("%s: %s currency %q", network, tr.ID, tr.Currency)
		}
		for _, v := range []string{tr.Sale, tr.Commission} {
			if _, err := strconv.ParseFloat(v, 64); err != nil || strings.ContainsAny(v, "eE") {
				t.Fatalf("%s: %s amount %q", network, tr.ID, v)
			}
		}
	}
}

func TestNetworksLifecycle(t *testing.T) {
	for _, c := range netCases() {
		t.Run(c.network, func(t *testing.T) {
			s := newTest(t, fastOptions())
			a := accountsOf(s, c.network)[0]
			lc := c.lifecycle
			if lc == [3]time.Duration{} {
				lc = [3]time.Duration{-40 * 24 * time.Hour, -20 * 24 * time.Hour, 40 * 24 * time.Hour}
			}
			from, to := testClock.Add(lc[0]), testClock.Add(lc[1])
			before, _ := c.walk(t, s, a, from, to)
			statusesBefore := statusCount(before)
			s.SetClock(testClock.Add(lc[2]))
			after, _ := c.walk(t, s, a, from, to)
			changed := 0
			for id, v := range after {
				b, ok := before[id]
				if !ok || b[0].status != v[0].status || b[0].comm != v[0].comm || b[0].sale != v[0].sale {
					changed++
				}
			}
			for id := range before {
				if _, ok := after[id]; !ok {
					changed++ // withdrawn (Everflow drops rejected conversions)
				}
			}
			if changed == 0 {
				t.Fatalf("nothing changed in 40 days: before %v, after %v", statusesBefore, statusCount(after))
			}
			// what the API shows at the later clock is the truth at that clock
			var inWin []Truth
			for _, tr := range s.Transactions(c.network, a.ID) {
				if inWindow(tr.TransactionAt, from, to) {
					inWin = append(inWin, tr)
				}
			}
			compareTruth(t, c.network, inWin, after)
		})
	}
}

func statusCount(m map[string][]seen) map[string]int {
	out := map[string]int{}
	for _, v := range m {
		out[v[0].status]++
	}
	return out
}

func TestNetworksDeterminism(t *testing.T) {
	for _, c := range netCases() {
		t.Run(c.network, func(t *testing.T) {
			fetch := func(seed int64) []byte {
				o := fastOptions()
				o.Seed = seed
				s := New(o)
				var out []byte
				for _, a := range accountsOf(s, c.network) {
					r := c.one(t, s, a)
					if r.status != http.StatusOK {
						t.Fatalf("%d %s", r.status, truncate(r.body))
					}
					out = append(out, r.body...)
				}
				return out
			}
			a, b, d := fetch(7), fetch(7), fetch(8)
			if !bytes.Equal(a, b) {
				t.Error("responses differ between identical servers")
			}
			if bytes.Equal(a, d) {
				t.Error("responses identical for different seeds")
			}
			if len(a) < 500 {
				t.Errorf("response suspiciously small: %s", a)
			}
		})
	}
}

func TestNetworksBodyFaults(t *testing.T) {
	for _, c := range netCases() {
		t.Run(c.network, func(t *testing.T) {
			s := newTest(t, fastOptions())
			a := accountsOf(s, c.network)[0]
			s.SetFaults(Faults{TruncateBody: 1, InvalidJSON: 1})
			r1, r2, r3 := c.one(t, s, a), c.one(t, s, a), c.one(t, s, a)
			if r1.status != 200 || len(r1.body)*2 > len(r3.body)+1 || !bytes.HasPrefix(r3.body, r1.body) {
				t.Errorf("truncated body: %d, %d of %d bytes", r1.status, len(r1.body), len(r3.body))
			}
			if r2.status != 200 || !bytes.HasPrefix(r2.body, []byte(`{"oops": `)) {
				t.Errorf("broken body: %d %s", r2.status, truncate(r2.body))
			}
			// the burst hits every route of the network, token endpoints included
			s.SetFaults(Faults{Burst5xx: 1})
			if r := call(s, "POST", "/"+c.network+"/any/path", nil, ""); r.status != 503 || r.header.Get("Retry-After") != "1" {
				t.Errorf("burst: %d %q", r.status, r.header.Get("Retry-After"))
			}
			if r := c.one(t, s, a); r.status != 200 {
				t.Errorf("after the burst: %d", r.status)
			}
			if st := s.Stats()[c.network]; st.Status5xx != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestNetworksRateLimit(t *testing.T) {
	for _, c := range netCases() {
		t.Run(c.network, func(t *testing.T) {
			o := fastOptions()
			o.RateLimit[c.network] = 2
			s := New(o)
			a := accountsOf(s, c.network)[0]
			limited := 0
			for range 6 {
				r := c.one(t, s, a)
				switch r.status {
				case http.StatusTooManyRequests:
					limited++
					ra, err := strconv.Atoi(r.header.Get("Retry-After"))
					if err != nil || ra < 1 || !c.limited(r) {
						t.Errorf("429 without Retry-After or in the wrong shape: %q %s", r.header.Get("Retry-After"), truncate(r.body))
					}
				case http.StatusOK:
				default:
					t.Errorf("status %d %s", r.status, truncate(r.body))
				}
			}
			if limited < 3 {
				t.Errorf("only %d of 6 requests limited at 2 req/s", limited)
			}
			if st := s.Stats()[c.network]; st.Status429 != limited {
				t.Errorf("stats %+v, limited %d", st, limited)
			}
		})
	}
}

// --- request helpers shared by the cases ---

func get(s *Server, target string, hdr map[string]string) reply {
	return call(s, "GET", target, hdr, "")
}

func basicHeader(user, pass string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func mustStatus(t *testing.T, r reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, truncate(r.body))
	}
}

// chunks splits [from, to) into windows of at most d.
func chunks(from, to time.Time, d time.Duration) [][2]time.Time {
	var out [][2]time.Time
	for s := from; s.Before(to); s = s.Add(d) {
		e := s.Add(d)
		if e.After(to) {
			e = to
		}
		out = append(out, [2]time.Time{s, e})
	}
	return out
}

func addSeen(t *testing.T, out map[string][]seen, id string, v seen) {
	t.Helper()
	if id == "" {
		t.Fatalf("record without id: %v", v.rec)
	}
	out[id] = append(out[id], v)
}

func mustTime(t *testing.T, layout, v string, loc *time.Location) time.Time {
	t.Helper()
	x, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		t.Fatalf("time %q: %v", v, err)
	}
	return x
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// fracDigits is the number of fraction digits of a decimal text.
func fracDigits(v string) int {
	if _, f, ok := strings.Cut(v, "."); ok {
		return len(f)
	}
	return 0
}
