package sandbox

import (
	"bytes"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TradeTracker affiliate SOAP web service:
//
//	GET  /tradetracker/soap/affiliate?wsdl
//	POST /tradetracker/soap/affiliate   (SOAP 1.1, RPC/encoded)
//
// authenticate(customerID, passphrase, sandbox, locale, demo) opens a
// session: the answer sets the cookie PHPSESSID, which every other call
// must send. getAffiliateSites() lists the customer's sites (the accounts);
// getConversionTransactions(affiliateSiteID, options) returns the site's
// conversions whose registrationDate lies in [options.registrationDateFrom,
// options.registrationDateTo] (yyyy-mm-dd, Amsterdam days, both inclusive;
// or a date-time), optionally filtered by options.transactionStatus and
// paged by options.limit and options.offset (all of them when absent). The
// answer is a SOAP-ENC array of ConversionTransaction items; dates are
// ISO-8601 with the Amsterdam offset, amounts decimal text in currency;
// transactionStatus is accepted, pending or rejected and paidOut true once
// paid. Failures, a missing session included, are SOAP faults (HTTP 500);
// the throttle is HTTP 429 with a fault.
//
// Not found in TradeTracker's published material, chosen here: the
// namespace, the fault texts, the session lifetime (an hour), the items'
// fields beyond those php-oara reads, and no maximum date range.

const (
	tradetrackerNS     = "https://ws.tradetracker.com/soap/affiliate"
	tradetrackerLayout = "2006-01-02T15:04:05-07:00"
)

var tradetrackerZone = mustLoad("Europe/Amsterdam")

func tradetrackerEmulation() *emulation {
	return &emulation{
		name:     NetworkTradeTracker,
		accounts: tradetrackerAccounts,
		serve:    (*Server).serveTradeTracker,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: tradetrackerStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func tradetrackerAccounts() []*account {
	cust := map[string]string{"customer_id": "8451279", "passphrase": "8f2e6c1a9d4b7e3f0a5c2d8b6e1f4a9c7d3b0e5a"}
	return []*account{
		{
			network: NetworkTradeTracker, id: "231455", currency: "EUR", idBase: 1400000000, secrets: maps.Clone(cust),
			advertisers: []advertiser{
				{id: 1204, name: "Hema", currency: "EUR", rateBP: 500, domain: "hema.example.nl"},
				{id: 3388, name: "Stroopwafel & Co", currency: "EUR", rateBP: 1000, domain: "stroopwafel.example.nl"},
				{id: 5120, name: "Energie Lead NL", currency: "EUR", rateBP: 0, actionType: "lead", domain: "energie.example.nl"},
			},
			sites:     []site{{id: "231455", name: "Kortingscodes NL", url: "https://kortingscodes.example.nl/"}},
			countries: []string{"NL", "NL", "BE", "DE"},
		},
		{
			network: NetworkTradeTracker, id: "231502", currency: "EUR", idBase: 1450000000, secrets: maps.Clone(cust),
			advertisers: []advertiser{
				{id: 7710, name: "Bijenkorf", currency: "EUR", rateBP: 600, domain: "bijenkorf.example.nl"},
				{id: 7822, name: "Søstrene Grene", currency: "DKK", rateBP: 700, domain: "sostrenegrene.example.dk"},
			},
			sites:     []site{{id: "231502", name: "Woonblog", url: "https://woonblog.example.nl/"}},
			countries: []string{"NL", "DK", "BE"},
		},
	}
}

func tradetrackerStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "accepted"
	case phaseDeclined:
		return "rejected"
	}
	return "pending"
}

func ttFault(msg string) *response {
	return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Server", msg)
}

func (s *Server) serveTradeTracker(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/soap/affiliate" {
		return &response{status: http.StatusNotFound, ctype: "text/html", body: []byte("<html><body><h1>404 Not Found</h1></body></html>")}
	}
	if r.Method == http.MethodGet {
		if _, ok := r.URL.Query()["wsdl"]; ok {
			return &response{status: http.StatusOK, ctype: "text/xml", body: []byte(tradetrackerWSDL)}
		}
		return soapFault(http.StatusBadRequest, tradetrackerNS, "SOAP-ENV:Client", "Bad Request: use POST with a SOAP envelope or GET ?wsdl")
	}
	if r.Method != http.MethodPost {
		return soapFault(http.StatusMethodNotAllowed, tradetrackerNS, "SOAP-ENV:Client", "Method not allowed")
	}
	call, err := readSOAP(r)
	if err != nil {
		return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "Bad request: "+err.Error())
	}
	if call.op == "authenticate" {
		return s.ttAuthenticate(call)
	}
	var g *grant
	if c, err := r.Cookie("PHPSESSID"); err == nil {
		g = s.lookup(NetworkTradeTracker, "session", c.Value)
	}
	switch call.op {
	case "getAffiliateSites", "getConversionTransactions":
	default:
		return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "Function (\""+call.op+"\") is not a valid method for this service")
	}
	if g == nil {
		return ttFault("Not authenticated: call authenticate first and send its session cookie")
	}
	customer := g.acct.secrets["customer_id"]
	if resp := s.throttle(NetworkTradeTracker, customer, func() *response {
		return soapFault(http.StatusTooManyRequests, tradetrackerNS, "SOAP-ENV:Server", "Too many requests, please slow down")
	}); resp != nil {
		return resp
	}
	var sites []*account
	for _, x := range s.accountsOf(NetworkTradeTracker) {
		if x.secrets["customer_id"] == customer {
			sites = append(sites, x)
		}
	}
	if call.op == "getAffiliateSites" {
		var b bytes.Buffer
		b.WriteString(`<ns1:getAffiliateSitesResponse><affiliateSites xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="ns1:AffiliateSite[` + strconv.Itoa(len(sites)) + `]">`)
		for _, x := range sites {
			b.WriteString(`<item xsi:type="ns1:AffiliateSite">`)
			xmlElem(&b, "ID", "xsd:int", x.id)
			xmlElem(&b, "name", "xsd:string", x.sites[0].name)
			xmlElem(&b, "URL", "xsd:string", x.sites[0].url)
			b.WriteString(`</item>`)
		}
		b.WriteString(`</affiliateSites></ns1:getAffiliateSitesResponse>`)
		return &response{status: http.StatusOK, ctype: "text/xml", body: soapEnvelope(tradetrackerNS, b.Bytes())}
	}

	var a *account
	for _, x := range sites {
		if x.id == call.args["affiliatesiteid"] {
			a = x
		}
	}
	if a == nil {
		return ttFault("Affiliate site " + call.args["affiliatesiteid"] + " does not belong to this customer")
	}
	day := func(name string, end bool) (time.Time, bool) {
		v := call.args["options."+strings.ToLower(name)]
		if v == "" {
			return time.Time{}, true
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, tradetrackerZone); err == nil {
			return t, true
		}
		d, err := time.ParseInLocation("2006-01-02", v, tradetrackerZone)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			d = d.AddDate(0, 0, 1).Add(-time.Second)
		}
		return d, true
	}
	from, ok1 := day("registrationDateFrom", false)
	to, ok2 := day("registrationDateTo", true)
	if !ok1 || !ok2 {
		return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "Invalid date in options: use yyyy-mm-dd")
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "registrationDateTo must not be before registrationDateFrom")
	}
	status := call.args["options.transactionstatus"]
	switch status {
	case "", "accepted", "pending", "rejected":
	default:
		return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "Invalid transactionStatus '"+status+"'")
	}
	limit, offset := -1, 0
	if v := call.args["options.limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "options.limit must be a positive integer")
		}
		limit = n
	}
	if v := call.args["options.offset"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return soapFault(http.StatusInternalServerError, tradetrackerNS, "SOAP-ENV:Client", "options.offset must be a non-negative integer")
		}
		offset = n
	}
	clock := s.Clock()
	var end time.Time
	if !to.IsZero() {
		end = to.Add(time.Second)
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, from, end) {
		if (!from.IsZero() && t.eventAt.Before(from)) || (!to.IsZero() && t.eventAt.After(to)) {
			continue
		}
		if status != "" && tradetrackerStatus(t, clock) != status {
			continue
		}
		matched = append(matched, t)
	}
	if s.repeatCursor() {
		offset = 0
	}
	if limit < 0 {
		limit = len(matched)
	}
	items := window(matched, offset, limit)
	var b bytes.Buffer
	b.WriteString(`<ns1:getConversionTransactionsResponse><conversionTransactions xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="ns1:ConversionTransaction[` + strconv.Itoa(len(items)) + `]">`)
	for _, t := range items {
		ttItem(&b, t, clock)
	}
	b.WriteString(`</conversionTransactions></ns1:getConversionTransactionsResponse>`)
	return data("text/xml", soapEnvelope(tradetrackerNS, b.Bytes()))
}

func (s *Server) ttAuthenticate(call *soapCall) *response {
	var a *account
	for _, x := range s.accountsOf(NetworkTradeTracker) {
		if call.args["customerid"] != "" && x.secrets["customer_id"] == call.args["customerid"] && x.secrets["passphrase"] == call.args["passphrase"] {
			a = x
		}
	}
	if a == nil {
		return ttFault("Authentication failed: invalid customerID or passphrase")
	}
	sid := s.issue(NetworkTradeTracker, "session", a, time.Hour, "")
	body := soapEnvelope(tradetrackerNS, []byte(`<ns1:authenticateResponse/>`))
	return &response{status: http.StatusOK, ctype: "text/xml", body: body,
		header: map[string]string{"Set-Cookie": "PHPSESSID=" + sid + "; path=/; HttpOnly"}}
}

func ttItem(b *bytes.Buffer, t *txn, clock time.Time) {
	f := func(x time.Time) string { return x.In(tradetrackerZone).Format(tradetrackerLayout) }
	sale, comm := t.currentAmounts(clock)
	status := tradetrackerStatus(t, clock)
	var assessment, reason, reference any
	if status != "pending" {
		assessment = f(t.decideAt)
	}
	if status == "rejected" {
		reason = t.declineReason
	}
	if len(t.clickRefs) > 0 {
		reference = t.clickRefs[0]
	}
	typ := "sale"
	if t.adv.actionType == "lead" {
		typ = "lead"
	}
	lag := int64(t.eventAt.Sub(t.clickAt) / time.Second)
	b.WriteString(`<item xsi:type="ns1:ConversionTransaction">`)
	xmlElem(b, "ID", "xsd:int", t.num)
	b.WriteString(`<campaign xsi:type="ns1:Campaign">`)
	xmlElem(b, "ID", "xsd:int", t.adv.id)
	xmlElem(b, "name", "xsd:string", t.adv.name)
	xmlElem(b, "URL", "xsd:string", "https://"+t.adv.domain+"/")
	b.WriteString(`</campaign>`)
	b.WriteString(`<campaignProduct xsi:type="ns1:CampaignProduct">`)
	xmlElem(b, "ID", "xsd:int", int64(100)+t.adv.id%100)
	xmlElem(b, "name", "xsd:string", strings.ToUpper(typ[:1])+typ[1:])
	b.WriteString(`</campaignProduct>`)
	xmlElem(b, "transactionType", "xsd:string", typ)
	xmlElem(b, "transactionStatus", "xsd:string", status)
	xmlElem(b, "numTouchPointsTotal", "xsd:int", int64(1)+int64(t.flavor%3))
	xmlElem(b, "numTouchPointsAffiliate", "xsd:int", 1)
	xmlElem(b, "commission", "xsd:float", floatText(comm))
	xmlElem(b, "orderAmount", "xsd:float", floatText(sale))
	xmlElem(b, "currency", "xsd:string", t.adv.currency)
	xmlElem(b, "IP", "xsd:string", "192.0.2."+strconv.FormatInt(t.num%250+1, 10))
	xmlElem(b, "registrationDate", "xsd:dateTime", f(t.eventAt))
	xmlElem(b, "assessmentDate", "xsd:dateTime", assessment)
	xmlElem(b, "clickToConversion", "xsd:string", "P0DT"+strconv.FormatInt(lag/3600, 10)+"H"+strconv.FormatInt(lag%3600/60, 10)+"M"+strconv.FormatInt(lag%60, 10)+"S")
	xmlElem(b, "originatingClickDate", "xsd:dateTime", f(t.clickAt))
	xmlElem(b, "rejectionReason", "xsd:string", reason)
	xmlElem(b, "paidOut", "xsd:boolean", t.paid(clock))
	xmlElem(b, "affiliateSitePaymentID", "xsd:int", nil)
	xmlElem(b, "reference", "xsd:string", reference)
	xmlElem(b, "characteristic", "xsd:string", nilIfEmpty(orderRefOr(t, "")))
	xmlElem(b, "description", "xsd:string", t.voucher)
	xmlElem(b, "countryCode", "xsd:string", t.country)
	b.WriteString(`</item>`)
}

const tradetrackerWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="https://ws.tradetracker.com/soap/affiliate"
  targetNamespace="https://ws.tradetracker.com/soap/affiliate">
  <message name="authenticateRequest">
    <part name="customerID" type="xsd:int"/>
    <part name="passphrase" type="xsd:string"/>
    <part name="sandbox" type="xsd:boolean"/>
    <part name="locale" type="xsd:string"/>
    <part name="demo" type="xsd:boolean"/>
  </message>
  <message name="authenticateResponse"/>
  <message name="getAffiliateSitesRequest"/>
  <message name="getAffiliateSitesResponse"><part name="affiliateSites" type="tns:AffiliateSiteList"/></message>
  <message name="getConversionTransactionsRequest">
    <part name="affiliateSiteID" type="xsd:int"/>
    <part name="options" type="tns:ConversionTransactionFilter"/>
  </message>
  <message name="getConversionTransactionsResponse"><part name="conversionTransactions" type="tns:ConversionTransactionList"/></message>
  <portType name="AffiliatePortType">
    <operation name="authenticate"><input message="tns:authenticateRequest"/><output message="tns:authenticateResponse"/></operation>
    <operation name="getAffiliateSites"><input message="tns:getAffiliateSitesRequest"/><output message="tns:getAffiliateSitesResponse"/></operation>
    <operation name="getConversionTransactions"><input message="tns:getConversionTransactionsRequest"/><output message="tns:getConversionTransactionsResponse"/></operation>
  </portType>
  <binding name="AffiliateBinding" type="tns:AffiliatePortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
  </binding>
  <service name="AffiliateService">
    <port name="AffiliatePort" binding="tns:AffiliateBinding"><soap:address location="http://ws.tradetracker.com/soap/affiliate"/></port>
  </service>
</definitions>
`
