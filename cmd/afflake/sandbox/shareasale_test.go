package sandbox

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"
)

// shareasaleGet signs the request at the given wall time.
func shareasaleGet(s *Server, a Account, query string, at time.Time) reply {
	date := at.UTC().Format(time.RFC1123)
	q, _ := url.ParseQuery(query)
	sig := shareasaleSignature(a.Secrets["token"], date, q.Get("action"), a.Secrets["secret"])
	return get(s, "/shareasale/x.cfm?affiliateId="+a.ID+"&token="+a.Secrets["token"]+"&version=2.3&"+query,
		map[string]string{"x-ShareASale-Date": date, "x-ShareASale-Authentication": sig})
}

func shareasaleDays(from, last time.Time) string {
	return "action=activity&dateStart=" + url.QueryEscape(from.In(shareasaleZone).Format("01/02/2006")) + "&dateEnd=" + url.QueryEscape(last.In(shareasaleZone).Format("01/02/2006"))
}

func parsePipe(t *testing.T, body []byte, sep rune) []map[string]string {
	t.Helper()
	rd := csv.NewReader(bytes.NewReader(body))
	rd.Comma = sep
	recs, err := rd.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("delimited body: %v %s", err, truncate(body))
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func shareasaleTruthStatus(m map[string]string) string {
	switch {
	case m["voided"] == "1":
		return "voided"
	case m["paiddate"] != "":
		return "paid"
	case m["locked"] == "1":
		return "locked"
	}
	return "pending"
}

func shareasaleCase() netCase {
	return netCase{
		network: NetworkShareASale,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			d0 := from.In(shareasaleZone)
			d0 = time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, shareasaleZone)
			for day := d0; day.Before(to); day = day.AddDate(0, 0, 30) {
				n++
				r := shareasaleGet(s, a, shareasaleDays(day, day.AddDate(0, 0, 29)), time.Now())
				mustStatus(t, r, 200)
				for _, m := range parsePipe(t, r.body, '|') {
					at := mustTime(t, shareasaleLayout, m["transdate"], shareasaleZone)
					if inWindow(at, from, to) {
						rec := map[string]any{}
						for k, v := range m {
							rec[k] = v
						}
						addSeen(t, out, m["transid"], seen{status: shareasaleTruthStatus(m), sale: m["transamount"], comm: m["commission"], at: at, rec: rec})
					}
				}
			}
			return out, n
		},
		auth: []check{
			{"bad signature", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"token": a.Secrets["token"], "secret": "wrong"}
				return shareasaleGet(s, a, shareasaleDays(testClock.Add(-48*time.Hour), testClock), time.Now())
			}, 401, "Error Code 4033 - Authentication Error: signature mismatch"},
			{"stale date", func(t *testing.T, s *Server, a Account) reply {
				return shareasaleGet(s, a, shareasaleDays(testClock.Add(-48*time.Hour), testClock), time.Now().Add(-10*time.Minute))
			}, 401, "Error Code 4032"},
			{"future date", func(t *testing.T, s *Server, a Account) reply {
				return shareasaleGet(s, a, shareasaleDays(testClock.Add(-48*time.Hour), testClock), time.Now().Add(10*time.Minute))
			}, 401, "Error Code 4032"},
			{"no headers", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/shareasale/x.cfm?affiliateId="+a.ID+"&token="+a.Secrets["token"]+"&version=2.3&action=activity&dateStart=10/01/2026&dateEnd=10/02/2026", nil)
			}, 401, "Error Code 4031"},
			{"other affiliate", func(t *testing.T, s *Server, a Account) reply {
				a.ID = accountsOf(s, NetworkShareASale)[1].ID
				return shareasaleGet(s, a, shareasaleDays(testClock.Add(-48*time.Hour), testClock), time.Now())
			}, 401, "Error Code 4003"},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return shareasaleGet(s, a, shareasaleDays(testClock.Add(-10*24*time.Hour), testClock), time.Now())
		},
		limited:     func(r reply) bool { return strings.HasPrefix(string(r.body), "Error Code 4029") },
		minRequests: 3,
	}
}

func TestShareASaleRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkShareASale)[0]
	got, _ := shareasaleCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	for _, v := range got {
		statuses[v[0].status]++
		rec := v[0].rec
		if v[0].status == "voided" && rec["reversaldate"] == "" {
			t.Errorf("voided without reversaldate %v", rec)
		}
		if rec["locked"] == "1" && rec["lockdate"] == "" {
			t.Errorf("locked without lockdate %v", rec)
		}
	}
	for _, st := range []string{"pending", "locked", "paid", "voided"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	// CSV and XML carry the same records; the signature is case-insensitive
	q := shareasaleDays(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC))
	pipe := parsePipe(t, shareasaleGet(s, a, q, time.Now()).body, '|')
	comma := parsePipe(t, shareasaleGet(s, a, q+"&format=csv", time.Now()).body, ',')
	if len(pipe) == 0 || len(pipe) != len(comma) || pipe[0]["transid"] != comma[0]["transid"] || pipe[0]["merchantorganization"] != comma[0]["merchantorganization"] {
		t.Errorf("pipe %d rows, csv %d rows", len(pipe), len(comma))
	}
	x := shareasaleGet(s, a, q+"&XMLFormat=1", time.Now())
	var doc struct {
		Records []struct {
			TransID string `xml:"transid"`
		} `xml:"activitydetailsreportrecord"`
	}
	if err := xml.Unmarshal(x.body, &doc); err != nil || len(doc.Records) != len(pipe) {
		t.Errorf("xml: %v, %d records", err, len(doc.Records))
	}
	date := time.Now().UTC().Format(time.RFC1123)
	sig := strings.ToUpper(shareasaleSignature(a.Secrets["token"], date, "activity", a.Secrets["secret"]))
	r := get(s, "/shareasale/x.cfm?affiliateId="+a.ID+"&token="+a.Secrets["token"]+"&version=2.3&"+q,
		map[string]string{"x-ShareASale-Date": date, "x-ShareASale-Authentication": sig})
	mustStatus(t, r, 200)
	for _, bad := range []string{"action=ledger&dateStart=10/01/2026&dateEnd=10/02/2026", "action=activity&dateStart=2026-10-01&dateEnd=10/02/2026", "action=activity&dateStart=10/01/2026&dateEnd=10/02/2026&format=json"} {
		if r := shareasaleGet(s, a, bad, time.Now()); r.status != 400 || !strings.HasPrefix(string(r.body), "Error Code ") {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
}
