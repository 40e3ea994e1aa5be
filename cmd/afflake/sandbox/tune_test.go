package sandbox

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func tuneGet(s *Server, a Account, query string) reply {
	return get(s, "/tune/v3/Affiliate_Report.json?Method=getConversions&NetworkId="+a.Extra["network_id"]+"&api_key="+a.Secrets["api_key"]+"&"+query, nil)
}

func tuneBetween(from, last string) string {
	return "filters[Stat.date][conditional]=BETWEEN&filters[Stat.date][values][]=" + from + "&filters[Stat.date][values][]=" + last
}

func tuneCase() netCase {
	return netCase{
		network: NetworkTune,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			q := tuneBetween(from.In(tuneZone).Format("2006-01-02"), to.In(tuneZone).Format("2006-01-02")) + "&limit=100"
			for _, f := range []string{"Stat.id", "Stat.datetime", "Stat.conversion_status", "Stat.payout", "Stat.conversion_sale_amount", "Offer.name"} {
				q += "&fields[]=" + url.QueryEscape(f)
			}
			for page := 1; ; page++ {
				n++
				r := tuneGet(s, a, q+"&page="+strconv.Itoa(page))
				mustStatus(t, r, 200)
				var env struct {
					Response struct {
						Status int `json:"status"`
						Data   struct {
							PageCount int `json:"pageCount"`
							Data      []struct {
								Stat  map[string]any `json:"Stat"`
								Offer map[string]any `json:"Offer"`
							} `json:"data"`
						} `json:"data"`
					} `json:"response"`
				}
				decode(t, r.body, &env)
				if env.Response.Status != 1 {
					t.Fatalf("status %d: %s", env.Response.Status, r.body)
				}
				for _, row := range env.Response.Data.Data {
					st := row.Stat
					if row.Offer["name"] == nil || len(st) != 5 {
						t.Fatalf("fields not as requested: %v", row)
					}
					at := mustTime(t, tuneLayout, st["datetime"].(string), tuneZone)
					if inWindow(at, from, to) {
						addSeen(t, out, st["id"].(string), seen{status: st["conversion_status"].(string),
							sale: st["conversion_sale_amount"].(string), comm: st["payout"].(string), at: at, rec: st})
					}
				}
				if page >= env.Response.Data.PageCount {
					return out, n
				}
			}
		},
		auth: []check{
			{"wrong api_key", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"api_key": "nope"}
				return tuneGet(s, a, tuneBetween("2026-10-01", "2026-10-02"))
			}, 200, `"status":-1,"httpStatus":200,"data":"","errors":[{"publicMessage":"Invalid API key or NetworkId"}]`},
			{"wrong NetworkId", func(t *testing.T, s *Server, a Account) reply {
				a.Extra = map[string]string{"network_id": "other"}
				return tuneGet(s, a, tuneBetween("2026-10-01", "2026-10-02"))
			}, 200, `"status":-1`},
		},
		wide: &check{"older than 25 months", func(t *testing.T, s *Server, a Account) reply {
			return tuneGet(s, a, tuneBetween("2024-09-01", "2024-10-01"))
		}, 200, "last 25 months"},
		one: func(t *testing.T, s *Server, a Account) reply {
			return tuneGet(s, a, tuneBetween("2026-10-22", "2026-10-31")+"&limit=1000")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"status":-1,"httpStatus":429`) },
		minRequests: 3,
	}
}

func TestTuneRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkTune)[0]
	got, _ := tuneCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		statuses[v[0].status]++
		if fracDigits(v[0].comm) != 5 || fracDigits(v[0].sale) != 5 {
			t.Fatalf("amounts %s / %s", v[0].sale, v[0].comm)
		}
	}
	for _, st := range []string{"approved", "pending", "rejected"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	// default fields, EQUAL_TO, data_start/data_end and hour_offset
	r := tuneGet(s, a, "filters[Stat.date][conditional]=EQUAL_TO&filters[Stat.date][values]=2026-10-20&limit=1000")
	if !strings.Contains(string(r.body), `"ad_id":"`) || !strings.Contains(string(r.body), `"status":1,`) {
		t.Errorf("default fields: %s", truncate(r.body))
	}
	a1 := tuneGet(s, a, "data_start=2026-10-20&data_end=2026-10-20&limit=1000")
	if string(a1.body) != string(r.body) {
		t.Error("data_start/data_end and EQUAL_TO differ")
	}
	shifted := tuneGet(s, a, "data_start=2026-10-20&data_end=2026-10-20&limit=1000&hour_offset=5&fields[]=Stat.datetime")
	if !strings.Contains(string(shifted.body), `"datetime":"2026-10-20 `) || strings.Contains(string(shifted.body), `"datetime":"2026-10-21`) {
		t.Errorf("hour_offset: %s", truncate(shifted.body))
	}
	for _, q := range []string{"", "fields[]=Stat.nope&" + tuneBetween("2026-10-01", "2026-10-02"), tuneBetween("2026/10/01", "2026-10-02"), "filters[Stat.date][conditional]=LESS_THAN&filters[Stat.date][values][]=2026-10-01"} {
		if r := tuneGet(s, a, q); r.status != 200 || !strings.Contains(string(r.body), `"status":-1`) {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
}
