package sandbox

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func skimToken(t *testing.T, s *Server, a Account) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"client_id": a.Secrets["client_id"], "client_secret": a.Secrets["client_secret"], "grant_type": "client_credentials"})
	r := call(s, "POST", "/skimlinks/access_token", map[string]string{"Content-Type": "application/json"}, string(b))
	mustStatus(t, r, 200)
	var tok struct {
		AccessToken string `json:"access_token"`
		Timestamp   int64  `json:"timestamp"`
		Expiry      int64  `json:"expiry_timestamp"`
	}
	decode(t, r.body, &tok)
	if !strings.HasPrefix(tok.AccessToken, a.ID+":") || strings.Count(tok.AccessToken, ":") != 2 || tok.Expiry <= tok.Timestamp {
		t.Fatalf("token %s", r.body)
	}
	return tok.AccessToken
}

func skimGet(s *Server, a Account, token, query string) reply {
	return get(s, "/skimlinks/publisher/"+a.ID+"/commission-report?access_token="+url.QueryEscape(token)+"&"+query, nil)
}

func skimCase() netCase {
	return netCase{
		network: NetworkSkimlinks,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			tok := skimToken(t, s, a)
			out, n := map[string][]seen{}, 0
			q := "start_date=" + url.QueryEscape(from.UTC().Format(skimLayout)) + "&end_date=" + url.QueryEscape(to.UTC().Format(skimLayout)) + "&limit=250"
			for offset := 0; ; offset += 250 {
				n++
				r := skimGet(s, a, tok, q+"&offset="+strconv.Itoa(offset))
				mustStatus(t, r, 200)
				var env struct {
					Pagination struct {
						HasNext bool `json:"has_next"`
					} `json:"pagination"`
					Commissions []map[string]any `json:"commissions"`
				}
				decode(t, r.body, &env)
				for _, c := range env.Commissions {
					td := c["transaction_details"].(map[string]any)
					b := td["basket"].(map[string]any)
					at := mustTime(t, skimLayout, td["transaction_date"].(string), time.UTC)
					addSeen(t, out, str(c["commission_id"]), seen{status: td["status"].(string),
						sale: str(b["order_amount"]), comm: str(b["publisher_amount"]), at: at, rec: c})
				}
				if !env.Pagination.HasNext {
					return out, n
				}
			}
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/skimlinks/publisher/"+a.ID+"/commission-report?start_date=2026-10-01", nil)
			}, 401, `{"error":{"code":401,`},
			{"forged token", func(t *testing.T, s *Server, a Account) reply {
				return skimGet(s, a, a.ID+":1700000000:00112233445566778899aabbccddeeff", "start_date=2026-10-01")
			}, 401, `"code":401`},
			{"other publisher", func(t *testing.T, s *Server, a Account) reply {
				return skimGet(s, accountsOf(s, NetworkSkimlinks)[1], skimToken(t, s, a), "start_date=2026-10-01")
			}, 403, `"code":403`},
			{"bad client secret", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/skimlinks/access_token", map[string]string{"Content-Type": "application/json"},
					`{"client_id":"`+a.Secrets["client_id"]+`","client_secret":"nope","grant_type":"client_credentials"}`)
			}, 401, `"code":401`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return skimGet(s, a, skimToken(t, s, a), "start_date=2026-10-22&end_date=2026-10-31&limit=5000")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"code":429`) },
		minRequests: 3,
	}
}

func TestSkimlinksRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkSkimlinks)[0]
	got, _ := skimCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses, payments := map[string]int{}, map[string]int{}
	for _, v := range got {
		td := v[0].rec["transaction_details"].(map[string]any)
		statuses[v[0].status]++
		payments[td["payment_status"].(string)]++
		if td["payment_status"] == "paid" && (v[0].status != "active" || td["invoice_id"] == nil) {
			t.Errorf("paid %v", td)
		}
	}
	if statuses["active"] == 0 || statuses["cancelled"] == 0 || payments["paid"] == 0 || payments["unpaid"] == 0 {
		t.Errorf("statuses %v, payments %v", statuses, payments)
	}
	tok := skimToken(t, s, a)
	// updated_since returns every commission changed since, whatever its date
	r := skimGet(s, a, tok, "updated_since="+url.QueryEscape("2026-10-25 00:00:00")+"&limit=5000")
	mustStatus(t, r, 200)
	var env struct {
		Commissions []map[string]any `json:"commissions"`
	}
	decode(t, r.body, &env)
	older := 0
	for _, c := range env.Commissions {
		td := c["transaction_details"].(map[string]any)
		if td["last_updated"].(string) < "2026-10-25" {
			t.Errorf("last_updated %v", td["last_updated"])
		}
		if td["transaction_date"].(string) < "2026-10-20" {
			older++
		}
	}
	if older == 0 {
		t.Error("updated_since returned no older commission")
	}
	for _, q := range []string{"", "start_date=01/10/2026", "start_date=2026-10-01&limit=5001", "start_date=2026-10-01&status=paid"} {
		if r := skimGet(s, a, tok, q); r.status != 400 || !strings.Contains(string(r.body), `"code":400`) {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
	// the form-encoded token request works too
	r = call(s, "POST", "/skimlinks/access_token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		"client_id="+a.Secrets["client_id"]+"&client_secret="+url.QueryEscape(a.Secrets["client_secret"])+"&grant_type=client_credentials")
	mustStatus(t, r, 200)
}
