package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func tradedoublerToken(t *testing.T, s *Server, a Account) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {a.Secrets["username"]}, "password": {a.Secrets["password"]}}
	r := call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
		"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"]),
		"Content-Type":  "application/x-www-form-urlencoded",
	}, form.Encode())
	mustStatus(t, r, 200)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
	}
	decode(t, r.body, &tok)
	if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn <= 0 || tok.RefreshToken == "" {
		t.Fatalf("token response %s", r.body)
	}
	return tok.AccessToken
}

func tradedoublerGet(s *Server, token, query string) reply {
	return get(s, "/tradedoubler/publisher/report/transactions?"+query, map[string]string{"Authorization": "Bearer " + token})
}

func tradedoublerDays(from, to time.Time) string {
	return "fromDate=" + from.Format("20060102") + "&toDate=" + to.Format("20060102")
}

func tradedoublerCase() netCase {
	sto := mustLoad("Europe/Stockholm")
	return netCase{
		network: NetworkTradedoubler,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			tok := tradedoublerToken(t, s, a)
			out, n := map[string][]seen{}, 0
			d0 := from.In(sto)
			d0 = time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, sto)
			for day := d0; day.Before(to); day = day.AddDate(0, 0, 31) {
				last := day.AddDate(0, 0, 30)
				for offset := 0; ; offset += 100 {
					n++
					r := tradedoublerGet(s, tok, tradedoublerDays(day, last)+"&limit=100&offset="+strconv.Itoa(offset))
					mustStatus(t, r, 200)
					var env struct {
						Total    int              `json:"total"`
						Currency string           `json:"reportCurrencyCode"`
						Items    []map[string]any `json:"items"`
					}
					decode(t, r.body, &env)
					if env.Currency != a.Currency {
						t.Fatalf("reportCurrencyCode %s", env.Currency)
					}
					for _, it := range env.Items {
						at := mustTime(t, tradedoublerLayout, it["timeOfTransaction"].(string), time.UTC)
						if !inWindow(at, from, to) {
							continue
						}
						addSeen(t, out, it["transactionId"].(string), seen{status: it["status"].(string),
							sale: str(it["orderValue"]), comm: str(it["commission"]), at: at, rec: it})
					}
					if offset+100 >= env.Total {
						break
					}
				}
			}
			return out, n
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/tradedoubler/publisher/report/transactions?fromDate=20261001&toDate=20261002", nil)
			}, 401, `"error":"unauthorized"`},
			{"bad token", func(t *testing.T, s *Server, a Account) reply {
				return tradedoublerGet(s, "nope", "fromDate=20261001&toDate=20261002")
			}, 401, `"error":"invalid_token"`},
			{"bad client secret", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
					"Authorization": basicHeader(a.Secrets["client_id"], "wrong")},
					"grant_type=password&username="+url.QueryEscape(a.Secrets["username"])+"&password="+url.QueryEscape(a.Secrets["password"]))
			}, 401, `"error":"unauthorized"`},
			{"bad password", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
					"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])},
					"grant_type=password&username="+url.QueryEscape(a.Secrets["username"])+"&password=wrong")
			}, 400, `"error":"invalid_grant"`},
			{"client credentials grant", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
					"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])}, "grant_type=client_credentials")
			}, 400, `"error":"unsupported_grant_type"`},
		},
		wide: &check{"32 days", func(t *testing.T, s *Server, a Account) reply {
			return tradedoublerGet(s, tradedoublerToken(t, s, a), "fromDate=20260901&toDate=20261002")
		}, 400, "31 days"},
		one: func(t *testing.T, s *Server, a Account) reply {
			return tradedoublerGet(s, tradedoublerToken(t, s, a), tradedoublerDays(testClock.Add(-10*24*time.Hour), testClock))
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"message":"Rate limit exceeded`) },
		minRequests: 4,
	}
}

func TestTradedoublerRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkTradedoubler)[0]
	tok := tradedoublerToken(t, s, a)
	got, _ := tradedoublerCase().walk(t, s, a, testClock.Add(-60*24*time.Hour), testClock)
	statuses := map[string]int{}
	leads, noEPI := 0, 0
	for _, v := range got {
		it := v[0].rec
		statuses[v[0].status]++
		if it["leadNumber"] != nil {
			leads++
			if it["orderNumber"] != nil || v[0].sale != "0" {
				t.Errorf("lead %v", it)
			}
		}
		if _, ok := it["epi"]; !ok {
			noEPI++
		}
		if ts := it["timeOfTransaction"].(string); !strings.HasSuffix(ts, "+02:00") && !strings.HasSuffix(ts, "+01:00") {
			t.Fatalf("time not in Stockholm time: %s", ts)
		}
		if v[0].status == "D" && it["reasonName"] == nil {
			t.Errorf("denied without reason %v", it)
		}
	}
	if statuses["A"] == 0 || statuses["P"] == 0 || statuses["D"] == 0 || leads == 0 || noEPI == 0 {
		t.Errorf("statuses %v, leads %d, without epi %d", statuses, leads, noEPI)
	}
	// the refresh grant gives a working token
	r := call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
		"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])},
		"grant_type=password&username="+url.QueryEscape(a.Secrets["username"])+"&password="+url.QueryEscape(a.Secrets["password"]))
	var tk map[string]any
	decode(t, r.body, &tk)
	r = call(s, "POST", "/tradedoubler/uaa/oauth/token", map[string]string{
		"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])},
		"grant_type=refresh_token&refresh_token="+tk["refresh_token"].(string))
	mustStatus(t, r, 200)
	for _, q := range []string{"fromDate=2026-10-01&toDate=20261002", "fromDate=20261001&toDate=20261002&limit=101", "fromDate=20261005&toDate=20261001", "fromDate=20261001&toDate=20261002&reportCurrencyCode=JPY", "toDate=20261002"} {
		if r := tradedoublerGet(s, tok, q); r.status != 400 || !strings.HasPrefix(string(r.body), `[{"code":`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
