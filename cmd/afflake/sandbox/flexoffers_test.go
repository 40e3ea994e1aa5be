package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func flexGet(s *Server, key, query string) reply {
	return get(s, "/flexoffers/allsales?"+query, map[string]string{"ApiKey": key})
}

func flexWindow(from, to time.Time) string {
	return "reportType=sales&status=all&startDate=" + url.QueryEscape(from.In(flexZone).Format(flexLayout)) +
		"&endDate=" + url.QueryEscape(to.In(flexZone).Format(flexLayout))
}

func flexCase() netCase {
	return netCase{
		network: NetworkFlexOffers,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for page := 1; ; page++ {
				n++
				r := flexGet(s, a.Secrets["api_key"], flexWindow(from, to)+"&pageSize=200&page="+strconv.Itoa(page))
				mustStatus(t, r, 200)
				var env struct {
					Results    []map[string]any `json:"results"`
					TotalCount int              `json:"totalCount"`
				}
				decode(t, r.body, &env)
				for _, rec := range env.Results {
					at := mustTime(t, flexLayout, rec["eventDate"].(string), flexZone)
					addSeen(t, out, rec["legacyId"].(string), seen{status: rec["orderStatus"].(string),
						sale: str(rec["saleAmount"]), comm: str(rec["commission"]), at: at, rec: rec})
				}
				if page*200 >= env.TotalCount {
					return out, n
				}
			}
		},
		auth: []check{
			{"no key", func(t *testing.T, s *Server, a Account) reply {
				return flexGet(s, "", "startDate=2026-10-01&endDate=2026-10-02")
			}, 401, `{"message":"Authorization has been denied`},
			{"wrong key", func(t *testing.T, s *Server, a Account) reply {
				return flexGet(s, "00000000-0000-0000-0000-000000000000", "startDate=2026-10-01&endDate=2026-10-02")
			}, 401, `"message"`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return flexGet(s, a.Secrets["api_key"], flexWindow(testClock.Add(-10*24*time.Hour), testClock)+"&pageSize=500")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `{"message":"API calls quota exceeded`) },
		minRequests: 3,
	}
}

func TestFlexOffersRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkFlexOffers)[1]
	got, _ := flexCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	currencies := map[string]int{}
	nullSub := 0
	for _, v := range got {
		rec := v[0].rec
		statuses[v[0].status]++
		currencies[rec["currency"].(string)]++
		if rec["subId1"] == nil {
			nullSub++
		}
		if strings.ContainsAny(rec["eventDate"].(string), "Z+") {
			t.Fatalf("eventDate with an offset: %v", rec["eventDate"])
		}
	}
	for _, st := range []string{"pending", "approved", "cancelled", "non-commissionable"} {
		if statuses[st] == 0 {
			t.Errorf("no %s sale: %v", st, statuses)
		}
	}
	if currencies["CAD"] == 0 || currencies["USD"] == 0 || nullSub == 0 {
		t.Errorf("currencies %v, null sub ids %d", currencies, nullSub)
	}
	// EST is UTC-5 all year: a whole EST day starts at 05:00 UTC
	r := flexGet(s, a.Secrets["api_key"], "startDate=2026-07-01&endDate=2026-07-02&pageSize=500")
	var env struct {
		Results []map[string]any `json:"results"`
	}
	decode(t, r.body, &env)
	for _, rec := range env.Results {
		if at := mustTime(t, flexLayout, rec["eventDate"].(string), flexZone).UTC(); at.Before(time.Date(2026, 7, 1, 5, 0, 0, 0, time.UTC)) || !at.Before(time.Date(2026, 7, 2, 5, 0, 0, 0, time.UTC)) {
			t.Errorf("eventDate %v outside the EST day", at)
		}
	}
	for _, q := range []string{"startDate=2026-10-01", "startDate=01/10/2026&endDate=2026-10-02", "startDate=2026-10-01&endDate=2026-10-02&pageSize=501", "startDate=2026-10-01&endDate=2026-10-02&status=paid"} {
		if r := flexGet(s, a.Secrets["api_key"], q); r.status != 400 || !strings.HasPrefix(string(r.body), `{"message":`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
