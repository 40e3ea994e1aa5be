package sandbox

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func cfGet(s *Server, key, query string, hdr map[string]string) reply {
	return get(s, "/commission_factory/V1/Affiliate/Transactions?apiKey="+key+"&"+query, hdr)
}

func cfCase() netCase {
	return netCase{
		network: NetworkCommissionFactory,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for _, w := range chunks(from, to, 31*24*time.Hour) {
				n++
				r := cfGet(s, a.Secrets["api_key"], "fromDate="+w[0].UTC().Format("2006-01-02T15:04:05")+"&toDate="+w[1].UTC().Format("2006-01-02T15:04:05"), nil)
				mustStatus(t, r, 200)
				var recs []map[string]any
				decode(t, r.body, &recs)
				for _, rec := range recs {
					at := mustTime(t, cfLayout, rec["DateCreated"].(string), time.UTC)
					addSeen(t, out, str(rec["Id"]), seen{status: rec["Status"].(string), sale: str(rec["SaleValue"]), comm: str(rec["Commission"]), at: at, rec: rec})
				}
			}
			return out, n
		},
		auth: []check{
			{"no key", func(t *testing.T, s *Server, a Account) reply {
				return get(s, "/commission_factory/V1/Affiliate/Transactions?fromDate=2026-10-01&toDate=2026-10-02", nil)
			}, 401, `{"Message":"Authorization has been denied for this request."}`},
			{"wrong key", func(t *testing.T, s *Server, a Account) reply {
				return cfGet(s, "nope", "fromDate=2026-10-01&toDate=2026-10-02", nil)
			}, 401, `"Message"`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return cfGet(s, a.Secrets["api_key"], "fromDate=2026-10-22&toDate=2026-11-01", nil)
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), `{"Message":"API rate limit exceeded."}`) },
		minRequests: 3,
	}
}

func TestCommissionFactoryRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkCommissionFactory)[0]
	got, _ := cfCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	paid, foreign := 0, 0
	for _, v := range got {
		rec := v[0].rec
		statuses[v[0].status]++
		if len(rec["CustomerCountryCode"].(string)) != 3 {
			t.Fatalf("country %v", rec["CustomerCountryCode"])
		}
		if rec["Paid"] == true {
			paid++
			if rec["Status2"] != "Paid" || v[0].status != "Approved" {
				t.Errorf("paid %v", rec)
			}
		}
		if rec["ReportedCurrencyCode"] != a.Currency {
			foreign++
			if str(rec["ReportedSaleValue"]) == v[0].sale && v[0].sale != "0" {
				t.Errorf("foreign merchant value not converted %v", rec)
			}
		}
		if (v[0].status == "Pending") != (rec["ValidationDate"] == nil) {
			t.Errorf("ValidationDate %v for %s", rec["ValidationDate"], v[0].status)
		}
	}
	for _, st := range []string{"Pending", "Approved", "Void"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	if paid == 0 || foreign == 0 {
		t.Errorf("paid %d, foreign %d", paid, foreign)
	}
	// XML on request
	r := cfGet(s, a.Secrets["api_key"], "fromDate=2026-10-01&toDate=2026-10-03", map[string]string{"Accept": "application/xml"})
	mustStatus(t, r, 200)
	var doc struct {
		Transactions []struct {
			ID     string `xml:"Id"`
			Status string `xml:"Status"`
		} `xml:"Transaction"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil || len(doc.Transactions) == 0 || doc.Transactions[0].ID == "" {
		t.Fatalf("xml %v: %s", err, truncate(r.body))
	}
	// DateModified finds the status changes of older transactions
	r = cfGet(s, a.Secrets["api_key"], "fromDate=2026-10-20&toDate=2026-10-25&dateProperty=DateModified&status=Void", nil)
	var recs []map[string]any
	decode(t, r.body, &recs)
	if len(recs) == 0 {
		t.Fatal("no voids modified in the window")
	}
	for _, rec := range recs {
		if rec["Status"] != "Void" || rec["DateModified"].(string) < "2026-10-20" || rec["DateCreated"].(string) >= "2026-10-20" {
			t.Errorf("%v", rec)
		}
	}
	for _, q := range []string{"fromDate=2026-10-01", "fromDate=01/10/2026&toDate=2026-10-02", "fromDate=2026-10-01&toDate=2026-10-02&status=Paid", "fromDate=2026-10-01&toDate=2026-10-02&dateProperty=Paid"} {
		if r := cfGet(s, a.Secrets["api_key"], q, nil); r.status != 400 || !strings.HasPrefix(string(r.body), `{"Message":`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}
