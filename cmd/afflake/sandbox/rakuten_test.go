package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func rakutenToken(t *testing.T, s *Server, a Account) string {
	t.Helper()
	r := call(s, "POST", "/rakuten/token", map[string]string{
		"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"]),
		"Content-Type":  "application/x-www-form-urlencoded"}, "grant_type=password&scope="+a.ID)
	mustStatus(t, r, 200)
	var tok map[string]any
	decode(t, r.body, &tok)
	if tok["token_type"] != "bearer" || str(tok["expires_in"]) != "3600" || tok["refresh_token"] == nil {
		t.Fatalf("token %s", r.body)
	}
	return tok["access_token"].(string)
}

func rakutenGet(s *Server, token, query string) reply {
	return get(s, "/rakuten/events/1.0/transactions?"+query, map[string]string{"Authorization": "Bearer " + token})
}

func rakutenStamp(x time.Time) string { return url.QueryEscape(x.UTC().Format("2006-01-02 15:04:05")) }

func rakutenCase() netCase {
	return netCase{
		network: NetworkRakuten,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			tok := rakutenToken(t, s, a)
			out, n := map[string][]seen{}, 0
			q := "transaction_date_start=" + rakutenStamp(from) + "&transaction_date_end=" + rakutenStamp(to.Add(-time.Second)) + "&limit=50"
			for page := 1; ; page++ {
				n++
				r := rakutenGet(s, tok, q+"&page="+strconv.Itoa(page))
				mustStatus(t, r, 200)
				var recs []map[string]any
				decode(t, r.body, &recs)
				for _, rec := range recs {
					at := mustTime(t, rakutenLayout, rec["transaction_date"].(string), time.UTC)
					addSeen(t, out, rec["etransaction_id"].(string), seen{sale: str(rec["sale_amount"]), comm: str(rec["commissions"]), at: at, rec: rec})
				}
				if len(recs) < 50 {
					return out, n
				}
			}
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/rakuten/events/1.0/transactions", nil)
			}, 401, `{"error":"invalid_token"`},
			{"bad client secret", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/rakuten/token", map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], "nope")}, "grant_type=password&scope="+a.ID)
			}, 401, `"error":"invalid_client"`},
			{"other SID", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/rakuten/token", map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])},
					"grant_type=password&scope="+accountsOf(s, NetworkRakuten)[1].ID)
			}, 400, `"error":"invalid_scope"`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return rakutenGet(s, rakutenToken(t, s, a), "process_date_start="+rakutenStamp(testClock.Add(-10*24*time.Hour))+"&process_date_end="+rakutenStamp(testClock)+"&limit=1000")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"error":"too_many_requests"`) },
		minRequests: 2,
		lifecycle:   [3]time.Duration{-10 * 24 * time.Hour, 0, 5 * 24 * time.Hour},
	}
}

func TestRakutenRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkRakuten)[0]
	tok := rakutenToken(t, s, a)
	got, _ := rakutenCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	orders := map[string]int{}
	reversals, leads := 0, 0
	for _, v := range got {
		rec := v[0].rec
		if _, ok := rec["status"]; ok {
			t.Fatalf("event with a status %v", rec)
		}
		if p := mustTime(t, rakutenLayout, rec["process_date"].(string), time.UTC); p.Before(testClock.Add(-rakutenRetention)) {
			t.Fatalf("event processed %s kept beyond the retention", p)
		}
		if strings.HasPrefix(v[0].comm, "-") {
			reversals++
			if !strings.HasPrefix(str(rec["quantity"]), "-") {
				t.Errorf("reversal with a positive quantity %v", rec)
			}
		}
		if rec["is_event"] == "Y" {
			leads++
		}
		if o := rec["order_id"].(string); o != "" {
			orders[o+"|"+str(rec["advertiser_id"])]++
		}
	}
	multi := 0
	for _, n := range orders {
		if n > 1 {
			multi++
		}
	}
	if reversals == 0 || leads == 0 || multi == 0 {
		t.Errorf("reversals %d, leads %d, multi-line orders %d", reversals, leads, multi)
	}
	// no date: the last 100 events by process date, newest first
	r := rakutenGet(s, tok, "")
	var recs []map[string]any
	decode(t, r.body, &recs)
	if len(recs) != 100 || mustTime(t, rakutenLayout, recs[0]["process_date"].(string), time.UTC).Before(mustTime(t, rakutenLayout, recs[99]["process_date"].(string), time.UTC)) {
		t.Errorf("default: %d events", len(recs))
	}
	// refresh tokens are single-use
	tr := call(s, "POST", "/rakuten/token", map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])}, "grant_type=password&scope="+a.ID)
	var tk map[string]any
	decode(t, tr.body, &tk)
	refresh := "grant_type=refresh_token&refresh_token=" + tk["refresh_token"].(string)
	auth := map[string]string{"Authorization": basicHeader(a.Secrets["client_id"], a.Secrets["client_secret"])}
	if r := call(s, "POST", "/rakuten/token", auth, refresh); r.status != 200 {
		t.Errorf("refresh: %d %s", r.status, r.body)
	}
	if r := call(s, "POST", "/rakuten/token", auth, refresh); r.status != 400 {
		t.Errorf("refresh reused: %d %s", r.status, r.body)
	}
	for _, q := range []string{"process_date_start=10/01/2026", "limit=1001", "transaction_date_start=" + rakutenStamp(testClock) + "&transaction_date_end=" + rakutenStamp(testClock.Add(-time.Hour))} {
		if r := rakutenGet(s, tok, q); r.status != 400 || !strings.Contains(string(r.body), `"error":"invalid_request"`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
