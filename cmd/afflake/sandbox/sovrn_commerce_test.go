package sandbox

import (
	"strings"
	"testing"
	"time"
)

func sovrnGet(s *Server, key, query string) reply {
	return get(s, "/sovrn_commerce/reports/transactions?"+query, map[string]string{"Authorization": "secret " + key})
}

func sovrnCase() netCase {
	return netCase{
		network: NetworkSovrnCommerce,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.AddDate(0, 0, 1) {
				n++
				r := sovrnGet(s, a.Secrets["secret_key"], "commissionDate="+day.Format("2006-01-02"))
				mustStatus(t, r, 200)
				var env struct {
					Transactions []map[string]any `json:"transactions"`
				}
				decode(t, r.body, &env)
				for _, rec := range env.Transactions {
					at := mustTime(t, sovrnLayout, rec["commissionDate"].(string), time.UTC)
					if inWindow(at, from, to) {
						addSeen(t, out, str(rec["revenueId"]), seen{sale: str(rec["orderValue"]), comm: str(rec["publisherRevenue"]), at: at, rec: rec})
					}
				}
			}
			return out, n
		},
		auth: []check{
			{"no key (under /v1 too)", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/sovrn_commerce/v1/reports/transactions?commissionDate=2026-10-01", nil)
			}, 401, `"status":401,"error":"Unauthorized"`},
			{"bearer instead of secret", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/sovrn_commerce/v1/reports/transactions?commissionDate=2026-10-01", map[string]string{"Authorization": "Bearer " + a.Secrets["secret_key"]})
			}, 401, `"status":401`},
			{"wrong key", func(t *testing.T, s *Server, a Account) reply {
				return sovrnGet(s, "nope", "commissionDate=2026-10-01")
			}, 401, `"status":401`},
		},
		wide: &check{"two days", func(t *testing.T, s *Server, a Account) reply {
			return sovrnGet(s, a.Secrets["secret_key"], "commissionDate=2026-10-01&commissionDate=2026-10-02")
		}, 400, "one day per request"},
		one: func(t *testing.T, s *Server, a Account) reply {
			return sovrnGet(s, a.Secrets["secret_key"], "commissionDate=2026-10-25")
		},
		limited: func(r reply) bool {
			return strings.Contains(string(r.body), `"status":429,"error":"Too Many Requests"`)
		},
		minRequests: 90,
	}
}

func TestSovrnRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkSovrnCommerce)[0]
	got, _ := sovrnCase().walk(t, s, a, testClock.Add(-60*24*time.Hour), testClock)
	zero, fourDecimals := 0, 0
	for _, v := range got {
		if _, ok := v[0].rec["status"]; ok {
			t.Fatalf("record with a status %v", v[0].rec)
		}
		if v[0].comm == "0" {
			zero++
			if v[0].rec["updateDate"].(string) <= v[0].rec["commissionDate"].(string) {
				t.Errorf("reversal without a later updateDate %v", v[0].rec)
			}
		}
		if fracDigits(v[0].comm) == 4 {
			fourDecimals++
		}
	}
	if zero == 0 || fourDecimals == 0 {
		t.Errorf("reversed %d, four-decimal revenues %d", zero, fourDecimals)
	}
	// updateDate and clickDate select other days than commissionDate
	for _, p := range []string{"updateDate", "clickDate"} {
		r := sovrnGet(s, a.Secrets["secret_key"], p+"=2026-10-20")
		mustStatus(t, r, 200)
		var env struct {
			Transactions []map[string]any `json:"transactions"`
		}
		decode(t, r.body, &env)
		if len(env.Transactions) == 0 {
			t.Fatalf("%s: nothing", p)
		}
		for _, rec := range env.Transactions {
			if !strings.HasPrefix(rec[p].(string), "2026-10-20T") {
				t.Errorf("%s %v", p, rec[p])
			}
		}
	}
	for _, q := range []string{"", "commissionDate=10/20/2026", "commissionDate=2026-10-20&updateDate=2026-10-20"} {
		if r := sovrnGet(s, a.Secrets["secret_key"], q); r.status != 400 || !strings.Contains(string(r.body), `"status":400`) {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
	// the real pace: one request a minute
	o := fastOptions()
	o.RateLimit[NetworkSovrnCommerce] = 1.0 / 60
	slow := New(o)
	first := sovrnGet(slow, a.Secrets["secret_key"], "commissionDate=2026-10-20")
	second := sovrnGet(slow, a.Secrets["secret_key"], "commissionDate=2026-10-21")
	if first.status != 200 || second.status != 429 || second.header.Get("Retry-After") != "60" {
		t.Errorf("real pace: %d then %d Retry-After %q", first.status, second.status, second.header.Get("Retry-After"))
	}
}
