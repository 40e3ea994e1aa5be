package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func everflowPost(s *Server, key string, page, size int, body any) reply {
	b, _ := json.Marshal(body)
	return call(s, "POST", "/everflow/v1/affiliates/reporting/conversions?page="+strconv.Itoa(page)+"&page_size="+strconv.Itoa(size),
		map[string]string{"X-Eflow-API-Key": key, "Content-Type": "application/json"}, string(b))
}

func everflowBody(from, to time.Time) map[string]any {
	return map[string]any{"from": from.UTC().Format("2006-01-02 15:04:05"), "to": to.UTC().Format("2006-01-02 15:04:05"),
		"timezone_id": 90, "show_conversions": true, "show_events": true, "query": map[string]any{"filters": []any{}}}
}

func everflowCase() netCase {
	return netCase{
		network: NetworkEverflow,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for page := 1; ; page++ {
				n++
				r := everflowPost(s, a.Secrets["api_key"], page, 200, everflowBody(from, to))
				mustStatus(t, r, 200)
				var env struct {
					Conversions []map[string]any `json:"conversions"`
					Paging      struct {
						Page       int `json:"page"`
						PageSize   int `json:"page_size"`
						TotalCount int `json:"total_count"`
					} `json:"paging"`
				}
				decode(t, r.body, &env)
				for _, c := range env.Conversions {
					ts, _ := strconv.ParseInt(str(c["conversion_unix_timestamp"]), 10, 64)
					at := time.Unix(ts, 0).UTC()
					if inWindow(at, from, to) {
						addSeen(t, out, c["conversion_id"].(string), seen{sale: str(c["sale_amount"]), comm: str(c["revenue"]), at: at, rec: c})
					}
				}
				if page*env.Paging.PageSize >= env.Paging.TotalCount {
					return out, n
				}
			}
		},
		auth: []check{
			{"no key", func(t *testing.T, s *Server, a Account) reply {
				return everflowPost(s, "", 1, 10, everflowBody(testClock.Add(-24*time.Hour), testClock))
			}, 401, `{"Error":"Unauthorized`},
			{"wrong key", func(t *testing.T, s *Server, a Account) reply {
				return everflowPost(s, "nope", 1, 10, everflowBody(testClock.Add(-24*time.Hour), testClock))
			}, 401, `"Error"`},
		},
		wide: &check{"more than 365 days back", func(t *testing.T, s *Server, a Account) reply {
			return everflowPost(s, a.Secrets["api_key"], 1, 10, map[string]any{"from": "2025-10-31", "to": "2025-11-30"})
		}, 400, "365 days"},
		one: func(t *testing.T, s *Server, a Account) reply {
			return everflowPost(s, a.Secrets["api_key"], 1, 2000, map[string]any{"from": "2026-10-22", "to": "2026-10-31", "timezone_id": 67})
		},
		limited:     func(r reply) bool { return strings.HasPrefix(string(r.body), `{"Error":"Too Many Requests`) },
		minRequests: 3,
	}
}

func TestEverflowRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkEverflow)[0]
	got, _ := everflowCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	threeDecimals, artefact := 0, 0
	for _, v := range got {
		c := v[0].rec
		if _, ok := c["status"]; ok {
			t.Fatalf("affiliate conversion with a status: %v", c)
		}
		if len(c["conversion_id"].(string)) != 32 || len(c["transaction_id"].(string)) != 32 {
			t.Fatalf("ids %v", c)
		}
		if len(str(c["country"])) <= 2 {
			t.Fatalf("country %v", c["country"])
		}
		switch fracDigits(v[0].comm) {
		case 3:
			threeDecimals++
		case 14:
			artefact++
		}
	}
	if threeDecimals == 0 || artefact == 0 {
		t.Errorf("revenue shapes: three decimals %d, artefacts %d", threeDecimals, artefact)
	}
	// rejected conversions are not reported to the affiliate
	all := 0
	for _, tr := range s.Transactions(NetworkEverflow, a.ID) {
		if tr.Status != "" {
			t.Fatalf("truth status %q", tr.Status)
		}
		all++
	}
	if all != len(got) {
		t.Errorf("walk %d, truth %d", len(got), all)
	}
	// timezone_id shifts whole-day windows
	var utc, ny struct {
		Paging struct {
			TotalCount int `json:"total_count"`
		} `json:"paging"`
	}
	decode(t, everflowPost(s, a.Secrets["api_key"], 1, 10, map[string]any{"from": "2026-10-10", "to": "2026-10-10"}).body, &utc)
	decode(t, everflowPost(s, a.Secrets["api_key"], 1, 10, map[string]any{"from": "2026-10-10", "to": "2026-10-10", "timezone_id": 67}).body, &ny)
	if utc.Paging.TotalCount == 0 || utc.Paging.TotalCount == ny.Paging.TotalCount && utc.Paging.TotalCount > 40 {
		t.Errorf("day totals utc %d, new york %d", utc.Paging.TotalCount, ny.Paging.TotalCount)
	}
	for _, b := range []any{map[string]any{"from": "2026-10-01"}, map[string]any{"from": "10/01/2026", "to": "2026-10-02"}, map[string]any{"from": "2026-10-01", "to": "2026-10-02", "timezone_id": 4242}} {
		if r := everflowPost(s, a.Secrets["api_key"], 1, 10, b); r.status != 400 || !strings.HasPrefix(string(r.body), `{"Error":`) {
			t.Errorf("%v: %d %s", b, r.status, r.body)
		}
	}
	if r := everflowPost(s, a.Secrets["api_key"], 1, 2001, everflowBody(testClock.Add(-24*time.Hour), testClock)); r.status != 400 {
		t.Errorf("page_size 2001: %d", r.status)
	}
}
