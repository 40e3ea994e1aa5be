package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// currentRefresh is the account's refresh token as the sandbox holds it now
// (it rotates with every use).
func currentRefresh(s *Server, id string) string {
	for _, a := range s.Accounts() {
		if a.Network == NetworkDaisycon && a.ID == id {
			return a.Secrets["refresh_token"]
		}
	}
	return ""
}

func daisyconRefresh(s *Server, a Account, refresh string) reply {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {a.Secrets["client_id"]}, "client_secret": {a.Secrets["client_secret"]}, "refresh_token": {refresh}}
	return call(s, "POST", "/daisycon/oauth/access-token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
}

func daisyconToken(t *testing.T, s *Server, a Account) string {
	t.Helper()
	r := daisyconRefresh(s, a, currentRefresh(s, a.ID))
	mustStatus(t, r, 200)
	var tok map[string]any
	decode(t, r.body, &tok)
	if tok["token_type"] != "Bearer" || tok["refresh_token"] == nil || str(tok["expires_in"]) != "1800" {
		t.Fatalf("token %s", r.body)
	}
	return tok["access_token"].(string)
}

func daisyconGet(s *Server, a Account, token, query string) reply {
	return get(s, "/daisycon/publishers/"+a.ID+"/transactions?"+query, map[string]string{"Authorization": "Bearer " + token})
}

func daisyconWindow(from, to time.Time) string {
	return "start=" + url.QueryEscape(from.In(daisyconZone).Format(daisyconLayout)) + "&end=" + url.QueryEscape(to.Add(-time.Second).In(daisyconZone).Format(daisyconLayout))
}

func daisyconCase() netCase {
	return netCase{
		network: NetworkDaisycon,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			tok := daisyconToken(t, s, a)
			out, n := map[string][]seen{}, 0
			for page := 1; ; page++ {
				n++
				r := daisyconGet(s, a, tok, daisyconWindow(from, to)+"&per_page=100&page="+strconv.Itoa(page))
				mustStatus(t, r, 200)
				total, err := strconv.Atoi(r.header.Get("X-Total-Count"))
				if err != nil {
					t.Fatalf("X-Total-Count %q", r.header.Get("X-Total-Count"))
				}
				var recs []map[string]any
				decode(t, r.body, &recs)
				for _, rec := range recs {
					for _, p := range rec["parts"].([]any) {
						part := p.(map[string]any)
						at := mustTime(t, daisyconLayout, part["date"].(string), daisyconZone)
						addSeen(t, out, part["id"].(string), seen{status: part["status"].(string),
							sale: str(part["revenue"]), comm: str(part["commission"]), at: at, rec: part})
					}
				}
				if page*100 >= total {
					return out, n
				}
			}
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/daisycon/publishers/"+a.ID+"/transactions", nil)
			}, 401, `{"error":{"code":401,`},
			{"unknown refresh token", func(t *testing.T, s *Server, a Account) reply {
				return daisyconRefresh(s, a, "nope")
			}, 400, `"error":"invalid_grant"`},
			{"refresh token used twice", func(t *testing.T, s *Server, a Account) reply {
				old := currentRefresh(s, a.ID)
				if r := daisyconRefresh(s, a, old); r.status != 200 {
					t.Fatalf("first use: %d %s", r.status, r.body)
				}
				return daisyconRefresh(s, a, old)
			}, 400, `"error":"invalid_grant"`},
			{"wrong client secret", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"client_id": a.Secrets["client_id"], "client_secret": "nope"}
				return daisyconRefresh(s, a, currentRefresh(s, a.ID))
			}, 401, `"error":"invalid_client"`},
			{"other publisher", func(t *testing.T, s *Server, a Account) reply {
				return daisyconGet(s, accountsOf(s, NetworkDaisycon)[1], daisyconToken(t, s, a), "")
			}, 403, `"code":403`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return daisyconGet(s, a, daisyconToken(t, s, a), daisyconWindow(testClock.Add(-10*24*time.Hour), testClock)+"&per_page=1000")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"code":429`) },
		minRequests: 3,
	}
}

func TestDaisyconRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkDaisycon)[0]
	got, _ := daisyconCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		statuses[v[0].status]++
	}
	for _, st := range []string{"open", "pending", "potential", "approved", "disapproved", "incasso"} {
		if statuses[st] == 0 {
			t.Errorf("no %s part: %v", st, statuses)
		}
	}
	// transactions with several parts, a partial return among them
	tok := daisyconToken(t, s, a)
	r := daisyconGet(s, a, tok, daisyconWindow(testClock.Add(-60*24*time.Hour), testClock.Add(-30*24*time.Hour))+"&per_page=1000")
	var recs []map[string]any
	decode(t, r.body, &recs)
	mixed := 0
	for _, rec := range recs {
		parts := rec["parts"].([]any)
		sts := map[string]bool{}
		for _, p := range parts {
			sts[p.(map[string]any)["status"].(string)] = true
		}
		if len(parts) > 1 && sts["approved"] && sts["disapproved"] {
			mixed++
		}
	}
	if mixed == 0 {
		t.Error("no partly returned transaction")
	}
	// Accounts reports the rotated refresh token
	before := currentRefresh(s, a.ID)
	daisyconToken(t, s, a)
	if after := currentRefresh(s, a.ID); after == before || after == "" {
		t.Errorf("refresh token not rotated: %q -> %q", before, after)
	}
	for _, q := range []string{"start=01-10-2026", "per_page=1001", "start=2026-10-05&end=2026-10-01"} {
		if r := daisyconGet(s, a, tok, q); r.status != 400 || !strings.Contains(string(r.body), `"code":400`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
