package sandbox

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ttEnvelope(op, inner string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="https://ws.tradetracker.com/soap/affiliate"><SOAP-ENV:Body><ns1:` +
		op + `>` + inner + `</ns1:` + op + `></SOAP-ENV:Body></SOAP-ENV:Envelope>`
}

// ttLogin authenticates and returns the session cookie header.
func ttLogin(t *testing.T, s *Server, a Account) string {
	t.Helper()
	r := call(s, "POST", "/tradetracker/soap/affiliate", map[string]string{"Content-Type": "text/xml"},
		ttEnvelope("authenticate", "<customerID>"+a.Secrets["customer_id"]+"</customerID><passphrase>"+a.Secrets["passphrase"]+"</passphrase><sandbox>false</sandbox><locale>en_GB</locale><demo>false</demo>"))
	mustStatus(t, r, 200)
	c := r.header.Get("Set-Cookie")
	if !strings.HasPrefix(c, "PHPSESSID=") {
		t.Fatalf("no session cookie: %q", c)
	}
	return strings.SplitN(c, ";", 2)[0]
}

func ttConversions(s *Server, cookie, site, options string) reply {
	hdr := map[string]string{"Content-Type": "text/xml"}
	if cookie != "" {
		hdr["Cookie"] = cookie
	}
	return call(s, "POST", "/tradetracker/soap/affiliate", hdr,
		ttEnvelope("getConversionTransactions", "<affiliateSiteID>"+site+"</affiliateSiteID><options>"+options+"</options>"))
}

type ttItemXML struct {
	ID                string `xml:"ID"`
	TransactionStatus string `xml:"transactionStatus"`
	Commission        string `xml:"commission"`
	OrderAmount       string `xml:"orderAmount"`
	RegistrationDate  string `xml:"registrationDate"`
	PaidOut           string `xml:"paidOut"`
	Currency          string `xml:"currency"`
}

func ttItems(t *testing.T, body []byte) []ttItemXML {
	t.Helper()
	var env struct {
		Body struct {
			Resp struct {
				List struct {
					Items []ttItemXML `xml:"item"`
				} `xml:"conversionTransactions"`
			} `xml:"getConversionTransactionsResponse"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("xml: %v", err)
	}
	return env.Body.Resp.List.Items
}

func ttCase() netCase {
	return netCase{
		network: NetworkTradeTracker,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			cookie := ttLogin(t, s, a)
			out, n := map[string][]seen{}, 0
			opts := "<registrationDateFrom>" + from.In(tradetrackerZone).Format("2006-01-02T15:04:05") + "</registrationDateFrom><registrationDateTo>" +
				to.Add(-time.Second).In(tradetrackerZone).Format("2006-01-02T15:04:05") + "</registrationDateTo><limit>100</limit>"
			for offset := 0; ; offset += 100 {
				n++
				r := ttConversions(s, cookie, a.ID, opts+"<offset>"+strconv.Itoa(offset)+"</offset>")
				mustStatus(t, r, 200)
				items := ttItems(t, r.body)
				for _, it := range items {
					at, err := time.Parse(tradetrackerLayout, it.RegistrationDate)
					if err != nil {
						t.Fatal(err)
					}
					addSeen(t, out, it.ID, seen{status: it.TransactionStatus, sale: it.OrderAmount, comm: it.Commission, at: at,
						rec: map[string]any{"paidOut": it.PaidOut}})
				}
				if len(items) < 100 {
					return out, n
				}
			}
		},
		auth: []check{
			{"no session", func(t *testing.T, s *Server, a Account) reply {
				return ttConversions(s, "", a.ID, "<registrationDateFrom>2026-10-01</registrationDateFrom>")
			}, 500, "<faultstring>Not authenticated"},
			{"forged session", func(t *testing.T, s *Server, a Account) reply {
				return ttConversions(s, "PHPSESSID=00112233445566778899aabbccddeeff", a.ID, "<registrationDateFrom>2026-10-01</registrationDateFrom>")
			}, 500, "Not authenticated"},
			{"wrong passphrase", func(t *testing.T, s *Server, a Account) reply {
				return call(s, "POST", "/tradetracker/soap/affiliate", nil, ttEnvelope("authenticate", "<customerID>"+a.Secrets["customer_id"]+"</customerID><passphrase>nope</passphrase>"))
			}, 500, "Authentication failed"},
			{"site of another customer", func(t *testing.T, s *Server, a Account) reply {
				return ttConversions(s, ttLogin(t, s, a), "999999", "")
			}, 500, "does not belong"},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return ttConversions(s, ttLogin(t, s, a), a.ID, "<registrationDateFrom>2026-10-22</registrationDateFrom><registrationDateTo>2026-10-31</registrationDateTo>")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), "<faultstring>Too many requests") },
		minRequests: 3,
	}
}

func TestTradeTrackerRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkTradeTracker)[0]
	got, _ := ttCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses := map[string]int{}
	paid := 0
	for _, v := range got {
		statuses[v[0].status]++
		if v[0].rec["paidOut"] == "true" {
			paid++
		}
	}
	for _, st := range []string{"accepted", "pending", "rejected"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	if paid == 0 {
		t.Error("nothing paid out")
	}
	cookie := ttLogin(t, s, a)
	// the customer's sites
	r := call(s, "POST", "/tradetracker/soap/affiliate", map[string]string{"Cookie": cookie}, ttEnvelope("getAffiliateSites", ""))
	if r.status != 200 || !strings.Contains(string(r.body), "231455") || !strings.Contains(string(r.body), "231502") {
		t.Errorf("sites: %d %s", r.status, truncate(r.body))
	}
	// status filter and whole days
	r = ttConversions(s, cookie, a.ID, "<registrationDateFrom>2026-09-01</registrationDateFrom><registrationDateTo>2026-09-30</registrationDateTo><transactionStatus>rejected</transactionStatus>")
	items := ttItems(t, r.body)
	if len(items) == 0 {
		t.Fatal("no rejected conversion in September")
	}
	for _, it := range items {
		if it.TransactionStatus != "rejected" || !strings.HasPrefix(it.RegistrationDate, "2026-09-") {
			t.Errorf("%+v", it)
		}
	}
	if r := ttConversions(s, cookie, a.ID, "<registrationDateFrom>01-09-2026</registrationDateFrom>"); r.status != 500 || !strings.Contains(string(r.body), "SOAP-ENV:Client") {
		t.Errorf("bad date: %d", r.status)
	}
}
