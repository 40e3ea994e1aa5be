package sandbox

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func partnerizeGet(s *Server, a Account, query string) reply {
	return get(s, "/partnerize/reporting/report_publisher/publisher/"+a.ID+"/conversion.json?"+query,
		map[string]string{"Authorization": basicHeader(a.Secrets["application_key"], a.Secrets["user_api_key"])})
}

func partnerizeWindow(from, to time.Time) string {
	return "start_date=" + url.QueryEscape(from.UTC().Format(partnerizeLayout)) + "&end_date=" + url.QueryEscape(to.UTC().Format(partnerizeLayout))
}

func partnerizeCase() netCase {
	return netCase{
		network: NetworkPartnerize,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for offset := 0; ; offset += partnerizeLimit {
				n++
				r := partnerizeGet(s, a, partnerizeWindow(from, to)+"&offset="+strconv.Itoa(offset))
				mustStatus(t, r, 200)
				var env struct {
					Limit       int `json:"limit"`
					Count       int `json:"count"`
					Conversions []struct {
						Data map[string]any `json:"conversion_data"`
					} `json:"conversions"`
				}
				decode(t, r.body, &env)
				for _, c := range env.Conversions {
					d := c.Data
					v := d["conversion_value"].(map[string]any)
					addSeen(t, out, d["conversion_id"].(string), seen{
						status: v["conversion_status"].(string), sale: str(v["value"]), comm: str(v["publisher_commission"]),
						at: mustTime(t, partnerizeLayout, d["conversion_time"].(string), time.UTC), rec: d,
					})
				}
				if offset+env.Limit >= env.Count {
					return out, n
				}
			}
		},
		auth: []check{
			{"no credentials", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/partnerize/reporting/report_publisher/publisher/"+a.ID+"/conversion.json?start_date=2026-10-01", nil)
			}, 401, `{"error":{"code":401,"message":"Authentication failed`},
			{"wrong user key", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"application_key": a.Secrets["application_key"], "user_api_key": "nope"}
				return partnerizeGet(s, a, "start_date=2026-10-01")
			}, 401, `"message":"Authentication failed`},
			{"other publisher", func(t *testing.T, s *Server, a Account) reply {
				other := accountsOf(s, NetworkPartnerize)[1]
				other.Secrets = a.Secrets
				return partnerizeGet(s, other, "start_date=2026-10-01")
			}, 403, `"code":403`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return partnerizeGet(s, a, partnerizeWindow(testClock.Add(-10*24*time.Hour), testClock))
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `"code":429`) },
		minRequests: 2,
	}
}

func TestPartnerizeRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkPartnerize)[0]
	got, _ := partnerizeCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock.Add(time.Second))
	statuses := map[string]int{}
	artefact, nullCountry, multi := 0, 0, 0
	for _, v := range got {
		d := v[0].rec
		st := v[0].status
		statuses[st]++
		if fracDigits(v[0].comm) > 6 {
			artefact++
		}
		if d["country"] == nil {
			nullCountry++
		}
		items := d["conversion_items"].([]any)
		if len(items) > 1 {
			multi++
		}
		rejected := 0
		for _, it := range items {
			if it.(map[string]any)["item_status"] == "rejected" {
				rejected++
			}
		}
		switch st {
		case "mixed":
			if rejected != 1 || len(items) != 2 {
				t.Errorf("mixed conversion %v", d)
			}
		case "rejected":
			if rejected != len(items) {
				t.Errorf("rejected conversion with live items %v", d)
			}
		case "approved":
			if rejected != 0 || d["last_modified"].(string) < d["conversion_time"].(string) {
				t.Errorf("approved conversion %v", d)
			}
		}
		if _, err := strconv.ParseFloat(v[0].sale, 64); err != nil {
			t.Errorf("value %q", v[0].sale)
		}
	}
	for _, st := range []string{"pending", "approved", "rejected", "mixed"} {
		if statuses[st] == 0 {
			t.Errorf("no %s conversion: %v", st, statuses)
		}
	}
	if artefact == 0 || nullCountry == 0 || multi == 0 {
		t.Errorf("awkward values missing: artefact %d, null country %d, multi-item %d", artefact, nullCountry, multi)
	}

	// the requested timezone shifts every date; payment info on request
	r := partnerizeGet(s, a, "start_date=2026-10-01&end_date=2026-10-02&timezone=America/New_York&include_payment_info=true")
	mustStatus(t, r, 200)
	var env map[string]any
	decode(t, r.body, &env)
	if env["start_date_time_utc"] != "2026-10-01 04:00:00" || env["start_date_time"] != "2026-10-01 00:00:00" {
		t.Errorf("timezone: %v / %v", env["start_date_time_utc"], env["start_date_time"])
	}
	if !strings.Contains(string(r.body), `"payment_status":"`) {
		t.Errorf("no payment_status: %s", truncate(r.body))
	}
	// filters
	r = partnerizeGet(s, a, "start_date=2026-08-01&end_date=2026-09-01&statuses[]=rejected")
	var rej struct {
		Conversions []struct {
			Data struct {
				Value struct {
					Status string `json:"conversion_status"`
				} `json:"conversion_value"`
			} `json:"conversion_data"`
		} `json:"conversions"`
	}
	if err := json.Unmarshal(r.body, &rej); err != nil || len(rej.Conversions) == 0 {
		t.Fatalf("statuses filter: %v %s", err, truncate(r.body))
	}
	for _, c := range rej.Conversions {
		if c.Data.Value.Status != "rejected" {
			t.Errorf("statuses[]=rejected returned %s", c.Data.Value.Status)
		}
	}
	for _, q := range []string{"", "start_date=yesterday", "start_date=2026-10-01&timezone=Mars/Base", "start_date=2026-10-01&date_type=nope", "start_date=2026-10-01&statuses[]=paid"} {
		if r := partnerizeGet(s, a, q); r.status != 400 || !strings.Contains(string(r.body), `"code":400`) {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
	// last_modified picks up conversions decided in the window, whatever their conversion time
	lm := partnerizeGet(s, a, "start_date=2026-10-20&end_date=2026-10-25&date_type=last_modified")
	var lmEnv struct {
		Conversions []struct {
			Data map[string]any `json:"conversion_data"`
		} `json:"conversions"`
	}
	decode(t, lm.body, &lmEnv)
	older := 0
	for _, c := range lmEnv.Conversions {
		if lmod := c.Data["last_modified"].(string); lmod < "2026-10-20" || lmod >= "2026-10-25" {
			t.Errorf("last_modified %s outside the window", lmod)
		}
		if c.Data["conversion_time"].(string) < "2026-10-13" {
			older++
		}
	}
	if older == 0 {
		t.Error("date_type=last_modified returned no older conversion")
	}
}
