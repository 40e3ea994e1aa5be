package sandbox

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func webgainsCall(s *Server, a Account, start, end string) reply {
	body := `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:http://ws.webgains.com/aws.php" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<SOAP-ENV:Body><ns1:getFullEarningsWithCurrency>
<startdate xsi:type="xsd:dateTime">` + start + `</startdate><enddate>` + end + `</enddate>
<campaignid>` + a.ID + `</campaignid><username>` + a.Secrets["username"] + `</username><password>` + a.Secrets["password"] + `</password>
</ns1:getFullEarningsWithCurrency></SOAP-ENV:Body></SOAP-ENV:Envelope>`
	return call(s, "POST", "/webgains/aws.php", map[string]string{"Content-Type": "text/xml; charset=utf-8",
		"SOAPAction": `"urn:http://ws.webgains.com/aws.php#getFullEarningsWithCurrency"`}, body)
}

type webgainsItemXML struct {
	TransactionID string `xml:"transactionID"`
	Date          string `xml:"date"`
	Commission    string `xml:"commission"`
	SaleValue     string `xml:"saleValue"`
	Status        string `xml:"status"`
	PaymentStatus string `xml:"paymentStatus"`
	Currency      string `xml:"currency"`
	ClickRef      struct {
		Nil   string `xml:"nil,attr"`
		Value string `xml:",chardata"`
	} `xml:"clickRef"`
}

func webgainsItems(t *testing.T, body []byte) []webgainsItemXML {
	t.Helper()
	var env struct {
		Body struct {
			Resp struct {
				Return struct {
					ArrayType string            `xml:"arrayType,attr"`
					Items     []webgainsItemXML `xml:"item"`
				} `xml:"return"`
			} `xml:"getFullEarningsWithCurrencyResponse"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("xml: %v: %s", err, truncate(body))
	}
	if !strings.HasSuffix(env.Body.Resp.Return.ArrayType, "]") {
		t.Fatalf("arrayType %q", env.Body.Resp.Return.ArrayType)
	}
	return env.Body.Resp.Return.Items
}

func webgainsCase() netCase {
	return netCase{
		network: NetworkWebgains,
		walk: func(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
			out, n := map[string][]seen{}, 0
			for _, w := range chunks(from, to, 31*24*time.Hour) {
				n++
				r := webgainsCall(s, a, w[0].In(webgainsZone).Format(webgainsLayout), w[1].Add(-time.Second).In(webgainsZone).Format(webgainsLayout))
				mustStatus(t, r, 200)
				for _, it := range webgainsItems(t, r.body) {
					at := mustTime(t, webgainsLayout, it.Date, webgainsZone)
					addSeen(t, out, it.TransactionID, seen{status: it.Status, sale: it.SaleValue, comm: it.Commission, at: at,
						rec: map[string]any{"paymentStatus": it.PaymentStatus, "clickRefNil": it.ClickRef.Nil}})
				}
			}
			return out, n
		},
		auth: []check{
			{"wrong password", func(t *testing.T, s *Server, a Account) reply {
				a.Secrets = map[string]string{"username": a.Secrets["username"], "password": "nope"}
				return webgainsCall(s, a, "2026-10-01T00:00:00", "2026-10-02T00:00:00")
			}, 500, `<faultcode>SOAP-ENV:Server</faultcode><faultstring>Authentication failed`},
			{"campaign of another user", func(t *testing.T, s *Server, a Account) reply {
				a.ID = "999999"
				return webgainsCall(s, a, "2026-10-01T00:00:00", "2026-10-02T00:00:00")
			}, 500, `does not belong to this user`},
		},
		one: func(t *testing.T, s *Server, a Account) reply {
			return webgainsCall(s, a, "2026-10-22T00:00:00", "2026-10-31T23:59:59")
		},
		limited:     func(r reply) bool { return strings.Contains(string(r.body), "60 requests per minute") },
		minRequests: 3,
	}
}

func TestWebgainsRecords(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	a := accountsOf(s, NetworkWebgains)[0]
	got, _ := webgainsCase().walk(t, s, a, testClock.Add(-91*24*time.Hour), testClock)
	statuses, payments := map[string]int{}, map[string]int{}
	nilRef := 0
	for _, v := range got {
		statuses[v[0].status]++
		payments[v[0].rec["paymentStatus"].(string)]++
		if v[0].rec["clickRefNil"] == "true" {
			nilRef++
		}
	}
	for _, st := range []string{"delayed", "confirmed", "cancelled"} {
		if statuses[st] == 0 {
			t.Errorf("no %s: %v", st, statuses)
		}
	}
	for _, st := range []string{"notcleared", "cleared", "paid"} {
		if payments[st] == 0 {
			t.Errorf("no %s: %v", st, payments)
		}
	}
	if nilRef == 0 {
		t.Error("clickRef is never nil")
	}
	// the same user reaches both campaigns
	b := accountsOf(s, NetworkWebgains)[1]
	if r := webgainsCall(s, b, "2026-10-22T00:00:00", "2026-10-31T23:59:59"); r.status != 200 || len(webgainsItems(t, r.body)) == 0 {
		t.Errorf("second campaign: %d", r.status)
	}
	// the WSDL, a bad date and an unknown operation
	if r := get(s, "/webgains/aws.php?wsdl", nil); r.status != 200 || !strings.Contains(string(r.body), `<operation name="getFullEarningsWithCurrency">`) {
		t.Errorf("wsdl: %d", r.status)
	}
	if r := webgainsCall(s, a, "2026/10/22", "2026-10-31T23:59:59"); r.status != 500 || !strings.Contains(string(r.body), "SOAP-ENV:Client") {
		t.Errorf("bad date: %d %s", r.status, r.body)
	}
	r := call(s, "POST", "/webgains/aws.php", nil, `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><getEarnings/></Body></Envelope>`)
	if r.status != 500 || !strings.Contains(string(r.body), "not defined") {
		t.Errorf("unknown operation: %d %s", r.status, r.body)
	}
}
