package sandbox

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func pepperjamURL(a Account, from, to string) string {
	return "/pepperjam" + pepperjamPath + "?apiKey=" + a.Secrets["api_key"] + "&format=json&startDate=" + from + "&endDate=" + to
}

// followHref turns an absolute next link into a request target.
func followHref(t *testing.T, href string) string {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil || u.Host == "" {
		t.Fatalf("next href %q", href)
	}
	return u.RequestURI()
}

func pepperjamCase() netCase {
	return netCase{
		network: NetworkPepperjam,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			next := pepperjamURL(a, from.In(pepperjamZone).Format("2006-01-02"), to.In(pepperjamZone).Format("2006-01-02"))
			for next != "" {
				n++
				if n > 100 {
					t.Fatal("pagination does not end")
				}
				r := get(s, next, nil)
				mustStatus(t, r, 200)
				var env struct {
					Meta struct {
						Pagination struct {
							Next *struct {
								Href string `json:"href"`
							} `json:"next"`
						} `json:"pagination"`
					} `json:"meta"`
					Data []map[string]any `json:"data"`
				}
				decode(t, r.body, &env)
				for _, it := range env.Data {
					at := mustTime(t, pepperjamLayout, it["date"].(string), pepperjamZone)
					if inWindow(at, from, to) {
						addSeen(t, out, it["transaction_id"].(string), seen{status: it["status"].(string),
							sale: it["sale_amount"].(string), comm: it["commission"].(string), at: at, rec: it})
					}
				}
				next = ""
				if env.Meta.Pagination.Next != nil {
					next = followHref(t, env.Meta.Pagination.Next.Href)
				}
			}
			return out, n
		},
		auth: []check{
			{"no key", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/pepperjam"+pepperjamPath+"?format=json&startDate=2026-10-01&endDate=2026-10-02", nil)
			}, 401, `"code":401,"message":"Invalid API key"`},
			{"wrong key", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"api_key": "nope"}
				return get(s, pepperjamURL(a, "2026-10-01", "2026-10-02"), nil)
			}, 401, `"Invalid API key"`},
		},
		wide: &check{"6 months and a day", func(t *testing.T, s *Server, a Account) reply {
			return get(s, pepperjamURL(a, "2026-04-30", "2026-10-31"), nil)
		}, 400, "6 months"},
		one: func(t *testing.T, s *Server, a Account) reply {
			return get(s, pepperjamURL(a, "2026-10-22", "2026-10-31"), nil)
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"code":429`) },
		minRequests: 2,
	}
}

func TestPepperjamRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkPepperjam)[0]
	if r := get(s, pepperjamURL(a, "2026-05-01", "2026-10-31"), nil); r.status != 200 {
		t.Errorf("6 months: %d %s", r.status, truncate(r.body))
	}
	got, _ := pepperjamCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		statuses[v[0].status]++
		for k, x := range v[0].rec {
			if _, ok := x.(string); !ok {
				t.Fatalf("%s is not a string: %v", k, x)
			}
		}
		if fracDigits(v[0].comm) != 2 || fracDigits(v[0].sale) != 2 {
			t.Fatalf("amounts %s / %s", v[0].sale, v[0].comm)
		}
	}
	for _, st := range []string{"pending", "delayed", "locked", "paid", "unconfirmed"} {
		if statuses[st] == 0 {
			t.Errorf("no %s transaction: %v", st, statuses)
		}
	}
	for _, q := range []string{"&format=xml", "&format=json&startDate=10/01/2026&endDate=2026-10-02", "&format=json&startDate=2026-10-05&endDate=2026-10-01"} {
		r := get(s, "/pepperjam"+pepperjamPath+"?apiKey="+a.Secrets["api_key"]+q, nil)
		if r.status != 400 || !strings.Contains(string(r.body), `"code":400`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
