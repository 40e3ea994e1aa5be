package sandbox

import (
	"strings"
	"testing"
	"time"
)

func epnGet(s *Server, a Account, pathAndQuery string) reply {
	return get(s, "/ebay_partner_network"+pathAndQuery,
		map[string]string{"Authorization": basicHeader(a.ID, a.Secrets["auth_token"]), "Accept": "application/json"})
}

func epnReportURL(a Account, query string) string {
	return "/Mediapartners/" + a.ID + "/Reports/" + epnReport + "?" + query
}

func epnCase() netCase {
	return netCase{
		network: NetworkEbayPartnerNetwork,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			next := epnReportURL(a, "STATUS=ALL&START_DATE="+from.In(epnZone).Format("2006-01-02")+"&END_DATE="+to.In(epnZone).Format("2006-01-02")+"&PageSize=150")
			for next != "" {
				n++
				if n > 100 {
					t.Fatal("pagination does not end")
				}
				r := epnGet(s, a, next)
				mustStatus(t, r, 200)
				var env struct {
					Next    string           `json:"@nextpageuri"`
					Records []map[string]any `json:"Records"`
				}
				decode(t, r.body, &env)
				for _, rec := range env.Records {
					at := mustTime(t, epnLayout, rec["EventDate"].(string), epnZone)
					if inWindow(at, from, to) {
						addSeen(t, out, rec["EpnTransactionId"].(string), seen{status: rec["Status"].(string),
							sale: rec["Sales"].(string), comm: rec["Earnings"].(string), at: at, rec: rec})
					}
				}
				next = env.Next
			}
			return out, n
		},
		auth: []check{
			{"wrong token", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"account_sid": a.ID, "auth_token": "nope"}
				return epnGet(s, a, epnReportURL(a, "START_DATE=2026-10-01&END_DATE=2026-10-02"))
			}, 401, `{"Status":"ERROR","Message":"Invalid Account SID or Auth Token"}`},
			{"no auth", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/ebay_partner_network"+epnReportURL(a, "START_DATE=2026-10-01&END_DATE=2026-10-02"), nil)
			}, 401, `"Status":"ERROR"`},
			{"other account", func(t *testing.T, s *Server, a Account) reply {
				other := accountsOf(s, NetworkEbayPartnerNetwork)[1]
				return epnGet(s, a, epnReportURL(other, "START_DATE=2026-10-01&END_DATE=2026-10-02"))
			}, 403, `"Status":"ERROR"`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return epnGet(s, a, epnReportURL(a, "STATUS=ALL&START_DATE=2026-10-22&END_DATE=2026-10-31"))
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"Message":"Too many requests`) },
		minRequests: 3,
	}
}

func TestEPNRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkEbayPartnerNetwork)[0]
	got, _ := epnCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		rec := v[0].rec
		statuses[v[0].status]++
		for k, x := range rec {
			if _, ok := x.(string); !ok {
				t.Fatalf("%s is not a string: %v", k, x)
			}
		}
		if v[0].status == "Reversed" && (v[0].comm != "0.00" || !strings.HasPrefix(rec["DeltaEarnings"].(string), "-")) {
			t.Errorf("reversed %v", rec)
		}
		if rec["UpdateDate"].(string) < rec["EventDate"].(string) {
			t.Errorf("updated before the event %v", rec)
		}
	}
	for _, st := range []string{"Approved", "Pending", "Reversed"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	// update_date picks up reversals of older events; STATUS filters
	r := epnGet(s, a, epnReportURL(a, "STATUS=REVERSED&date_type=update_date&START_DATE=2026-10-01&END_DATE=2026-10-31"))
	mustStatus(t, r, 200)
	var env struct {
		Records []map[string]any `json:"Records"`
	}
	decode(t, r.body, &env)
	older := 0
	for _, rec := range env.Records {
		if rec["Status"] != "Reversed" || rec["UpdateDate"].(string) < "2026-10-01" {
			t.Errorf("filtered record %v", rec)
		}
		if rec["EventDate"].(string) < "2026-10-01" {
			older++
		}
	}
	if older == 0 {
		t.Error("update_date returned no older event")
	}
	for _, q := range []string{"START_DATE=2026-10-01", "START_DATE=10/01/2026&END_DATE=2026-10-02", "START_DATE=2026-10-01&END_DATE=2026-10-02&STATUS=PAID", "START_DATE=2026-10-01&END_DATE=2026-10-02&date_type=click"} {
		if r := epnGet(s, a, epnReportURL(a, q)); r.status != 400 || !strings.Contains(string(r.body), `"Status":"ERROR"`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
