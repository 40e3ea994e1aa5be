package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func adtractionPost(s *Server, token string, body any) reply {
	b, _ := json.Marshal(body)
	return call(s, "POST", "/adtraction/v2/affiliate/transactions?token="+token, map[string]string{"Content-Type": "application/json"}, string(b))
}

func adtractionBody(from, to time.Time) map[string]any {
	return map[string]any{"fromDate": from.In(adtractionZone).Format(adtractionLayout), "toDate": to.In(adtractionZone).Format(adtractionLayout), "transactionStatus": 0}
}

func adtractionCase() netCase {
	return netCase{
		network: NetworkAdtraction,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for _, w := range chunks(from, to, 30*24*time.Hour) {
				n++
				r := adtractionPost(s, a.Secrets["token"], adtractionBody(w[0], w[1]))
				mustStatus(t, r, 200)
				var recs []map[string]any
				decode(t, r.body, &recs)
				for _, rec := range recs {
					at, ok := parseAdtractionTime(rec["transactionDate"].(string))
					if !ok {
						t.Fatalf("transactionDate %v", rec["transactionDate"])
					}
					addSeen(t, out, str(rec["uniqueId"]), seen{status: str(rec["transactionStatus"]),
						sale: str(rec["orderValue"]), comm: str(rec["commission"]), at: at, rec: rec})
				}
			}
			return out, n
		},
		auth: []check{
			{"no token", func(t *testing.T, s *Server, a Account) reply {
				return adtractionPost(s, "", adtractionBody(testClock.Add(-24*time.Hour), testClock))
			}, 401, `{"status":401,"message":`},
			{"wrong token", func(t *testing.T, s *Server, a Account) reply {
				return adtractionPost(s, "nope", adtractionBody(testClock.Add(-24*time.Hour), testClock))
			}, 401, `"status":401`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return adtractionPost(s, a.Secrets["token"], adtractionBody(testClock.Add(-10*24*time.Hour), testClock))
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"status":429`) },
		minRequests: 3,
	}
}

func TestAdtractionRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkAdtraction)[0]
	got, _ := adtractionCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		rec := v[0].rec
		statuses[v[0].status]++
		if !strings.HasSuffix(rec["transactionDate"].(string), "+0200") && !strings.HasSuffix(rec["transactionDate"].(string), "+0100") {
			t.Fatalf("transactionDate %v", rec["transactionDate"])
		}
		if v[0].status == "5" && rec["rejectReason"] == nil {
			t.Errorf("rejected without a reason %v", rec)
		}
	}
	for _, st := range []string{"1", "2", "4", "5"} {
		if statuses[st] == 0 {
			t.Errorf("no status %s: %v", st, statuses)
		}
	}
	// the status filter
	body := adtractionBody(testClock.Add(-60*24*time.Hour), testClock)
	body["transactionStatus"] = 5
	var recs []map[string]any
	decode(t, adtractionPost(s, a.Secrets["token"], body).body, &recs)
	if len(recs) == 0 {
		t.Fatal("no rejected transaction")
	}
	for _, rec := range recs {
		if str(rec["transactionStatus"]) != "5" {
			t.Errorf("filter returned %v", rec["transactionStatus"])
		}
	}
	for _, b := range []any{map[string]any{"fromDate": "2026-10-01T00:00:00+0200"}, map[string]any{"fromDate": "2026-10-01", "toDate": "2026-10-02"},
		map[string]any{"fromDate": "2026-10-01T00:00:00+0200", "toDate": "2026-10-02T00:00:00+0200", "transactionStatus": 3}} {
		if r := adtractionPost(s, a.Secrets["token"], b); r.status != 400 || !strings.Contains(string(r.body), `"status":400`) {
			t.Errorf("%v: %d %s", b, r.status, r.body)
		}
	}
}
