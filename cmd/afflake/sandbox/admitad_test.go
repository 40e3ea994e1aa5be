package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func admitadToken(t *testing.T, s *Server, a Account, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.Secrets["client_id"]}, "scope": {scope}}
	r := call(s, "POST", "/admitad/token/", map[string]string{
		"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])}, form.Encode())
	mustStatus(t, r, 200)
	var tok map[string]any
	decode(t, r.body, &tok)
	if tok["token_type"] != "bearer" || str(tok["id"]) != a.ID || tok["scope"] != scope {
		t.Fatalf("token response %s", r.body)
	}
	return tok["access_token"].(string)
}

func admitadGet(s *Server, token, query string) reply {
	return get(s, "/admitad/statistics/actions/?"+query, map[string]string{"Authorization": "Bearer " + token})
}

func admitadCase() netCase {
	msk := mustLoad("Europe/Moscow")
	return netCase{
		network: NetworkAdmitad,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			tok := admitadToken(t, s, a, "statistics")
			out, n := map[string][]seen{}, 0
			q := "date_start=" + from.In(msk).Format("02.01.2006") + "&date_end=" + to.In(msk).Format("02.01.2006")
			for offset := 0; ; offset += 500 {
				n++
				r := admitadGet(s, tok, q+"&limit=500&offset="+strconv.Itoa(offset))
				mustStatus(t, r, 200)
				var env struct {
					Results []map[string]any `json:"results"`
					Meta    struct {
						Count int `json:"count"`
					} `json:"_meta"`
				}
				decode(t, r.body, &env)
				for _, it := range env.Results {
					at := mustTime(t, admitadLayout, it["action_date"].(string), msk)
					if !inWindow(at, from, to) {
						continue
					}
					sale := str(it["cart"])
					if it["cart"] == nil {
						sale = "0"
					}
					addSeen(t, out, str(it["action_id"]), seen{status: it["status"].(string), sale: sale, comm: str(it["payment"]), at: at, rec: it})
				}
				if offset+500 >= env.Meta.Count {
					return out, n
				}
			}
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/admitad/statistics/actions/?date_start=01.10.2026&date_end=02.10.2026", nil)
			}, 401, `"error":"invalid_token"`},
			{"bad client secret", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/admitad/token/", map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], "nope")},
					"grant_type=client_credentials&client_id="+a.Secrets["client_id"]+"&scope=statistics")
			}, 401, `"error":"invalid_client"`},
			{"token without statistics scope", func(t *testing.T, s *Server, a Account) reply {
				return admitadGet(s, admitadToken(t, s, a, "websites"), "date_start=01.10.2026&date_end=02.10.2026")
			}, 403, `"error":"insufficient_scope"`},
			{"password grant", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/admitad/token/", map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])},
					"grant_type=password&client_id="+a.Secrets["client_id"]+"&scope=statistics")
			}, 400, `"error":"unsupported_grant_type"`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			from := testClock.Add(-10 * 24 * time.Hour).In(msk).Format("02.01.2006")
			return admitadGet(s, admitadToken(t, s, a, "statistics advcampaigns"), "date_start="+from+"&date_end=01.11.2026&limit=500")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"error":"too_many_requests"`) },
		minRequests: 2,
	}
}

func TestAdmitadRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkAdmitad)[0]
	got, _ := admitadCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	leads, paid := 0, 0
	for _, v := range got {
		it := v[0].rec
		statuses[v[0].status]++
		if it["action_type"] == "lead" {
			leads++
			if it["cart"] != nil || it["order_id"] != nil {
				t.Errorf("lead %v", it)
			}
		}
		if str(it["paid"]) == "1" {
			paid++
			if v[0].status != "approved" {
				t.Errorf("paid but %s", v[0].status)
			}
		}
		if (v[0].status == "pending") != (it["closing_date"] == nil) {
			t.Errorf("closing_date %v for %s", it["closing_date"], v[0].status)
		}
	}
	for _, st := range []string{"pending", "approved", "declined", "approved_but_stalled"} {
		if statuses[st] == 0 {
			t.Errorf("no %s action: %v", st, statuses)
		}
	}
	if leads == 0 || paid == 0 {
		t.Errorf("leads %d, paid %d", leads, paid)
	}
	tok := admitadToken(t, s, a, "statistics")
	// status_updated filters on the change date, across action dates
	r := admitadGet(s, tok, "status_updated_start="+url.QueryEscape("20.10.2026 00:00:00")+"&status_updated_end="+url.QueryEscape("25.10.2026 00:00:00")+"&limit=500")
	mustStatus(t, r, 200)
	var env struct {
		Results []map[string]any `json:"results"`
	}
	decode(t, r.body, &env)
	if len(env.Results) == 0 {
		t.Fatal("no status update in the window")
	}
	for _, it := range env.Results {
		if u := it["status_updated"].(string); u < "2026-10-20" || u > "2026-10-25 00:00:00" {
			t.Errorf("status_updated %s outside the window", u)
		}
	}
	for _, q := range []string{"date_start=2026-10-01", "limit=501", "status=paid", "date_start=05.10.2026&date_end=01.10.2026"} {
		if r := admitadGet(s, tok, q); r.status != 400 || !strings.Contains(string(r.body), `"error":"invalid_request"`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
