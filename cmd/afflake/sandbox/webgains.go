package sandbox

import (
	"bytes"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webgains legacy SOAP web service:
//
//	GET  /webgains/aws.php?wsdl
//	POST /webgains/aws.php   (SOAP 1.1, RPC/encoded)
//
// getFullEarningsWithCurrency(startdate, enddate, campaignid, username,
// password) returns every earning of the campaign (the publisher's site)
// whose date lies in [startdate, enddate] ("Y-m-dTH:i:s", UK time, both
// inclusive) as a SOAP-ENC array (fullEarningsWithCurrencyReportArray) of
// fullEarningsWithCurrencyArray items, with no pagination; the part and
// field names are those of Webgains' WSDL. Credentials are the user's; one user may own several
// campaigns. Dates in the items are "Y-m-dTH:i:s" in UK time without an
// offset, amounts decimal text in currency. status is delayed (awaiting
// validation), confirmed or cancelled; paymentStatus is notcleared, cleared
// (the advertiser has paid Webgains) or paid. Failures are SOAP faults
// (HTTP 500); the throttle is HTTP 429 with a fault about the 60 requests a
// minute.
//
// Not found in Webgains' published material, chosen here: the time zone,
// the fault texts, when an item becomes cleared (a week after validation),
// and no maximum date range.

const (
	webgainsNS     = "urn:http://ws.webgains.com/aws.php"
	webgainsLayout = "2006-01-02T15:04:05"
)

var webgainsZone = mustLoad("Europe/London")

func webgainsEmulation() *emulation {
	return &emulation{
		name:     NetworkWebgains,
		accounts: webgainsAccounts,
		serve:    (*Server).serveWebgains,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: webgainsStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func webgainsAccounts() []*account {
	user := map[string]string{"username": "wg-api-7Rk3@publisher.example", "password": "Wg-Pässword-2026"}
	return []*account{
		{
			network: NetworkWebgains, id: "201877", currency: "GBP", idBase: 1300000000, secrets: maps.Clone(user),
			advertisers: []advertiser{
				{id: 4071, name: "Boots UK", currency: "GBP", rateBP: 600},
				{id: 7744, name: "Crème Boutique", currency: "EUR", rateBP: 900},
				{id: 8210, name: "Gadget Shack", currency: "GBP", rateBP: 400},
			},
			sites:     []site{{id: "201877", name: "Deal Hunters UK", url: "https://www.dealhunters.example.co.uk/"}},
			countries: []string{"GB", "GB", "IE", "FR"},
		},
		{
			network: NetworkWebgains, id: "201880", currency: "EUR", idBase: 1350000000, secrets: maps.Clone(user),
			advertisers: []advertiser{
				{id: 9102, name: "Zalando DE", currency: "EUR", rateBP: 700},
				{id: 9318, name: "Kaffee & Kuchen", currency: "EUR", rateBP: 1100},
			},
			sites:     []site{{id: "201880", name: "Schnäppchen Jäger", url: "https://schnaeppchen.example.de/"}},
			countries: []string{"DE", "DE", "AT"},
		},
	}
}

func webgainsStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "confirmed"
	case phaseDeclined:
		return "cancelled"
	}
	return "delayed"
}

func webgainsPayment(t *txn, clock time.Time) string {
	switch {
	case t.phase(clock) != phaseApproved:
		return "notcleared"
	case t.paid(clock):
		return "paid"
	case !clock.Before(t.decideAt.Add(7 * 24 * time.Hour)):
		return "cleared"
	}
	return "notcleared"
}

func (s *Server) serveWebgains(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/aws.php" {
		return &response{status: http.StatusNotFound, ctype: "text/html", body: []byte("<html><body><h1>404 Not Found</h1></body></html>")}
	}
	if r.Method == http.MethodGet {
		if _, ok := r.URL.Query()["wsdl"]; ok {
			return &response{status: http.StatusOK, ctype: "text/xml", body: []byte(webgainsWSDL)}
		}
		return soapFault(http.StatusBadRequest, webgainsNS, "SOAP-ENV:Client", "Bad Request: use POST with a SOAP envelope or GET ?wsdl")
	}
	if r.Method != http.MethodPost {
		return soapFault(http.StatusMethodNotAllowed, webgainsNS, "SOAP-ENV:Client", "Method not allowed")
	}
	call, err := readSOAP(r)
	if err != nil {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Client", "Bad request: "+err.Error())
	}
	if call.op != "getFullEarningsWithCurrency" {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Client", "Operation '"+call.op+"' is not defined in the WSDL for this service")
	}
	user, pass, campaign := call.args["username"], call.args["password"], call.args["campaignid"]
	var known bool
	var a *account
	for _, x := range s.accountsOf(NetworkWebgains) {
		if user != "" && x.secrets["username"] == user && x.secrets["password"] == pass {
			known = true
			if x.id == campaign {
				a = x
			}
		}
	}
	if !known {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Server", "Authentication failed: invalid username or password")
	}
	if a == nil {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Server", "Campaign "+campaign+" does not belong to this user")
	}
	if resp := s.throttle(NetworkWebgains, user, func() *response {
		return soapFault(http.StatusTooManyRequests, webgainsNS, "SOAP-ENV:Server", "You have exceeded the limit of 60 requests per minute, please try again later")
	}); resp != nil {
		return resp
	}
	start, err1 := time.ParseInLocation(webgainsLayout, call.args["startdate"], webgainsZone)
	end, err2 := time.ParseInLocation(webgainsLayout, call.args["enddate"], webgainsZone)
	if err1 != nil || err2 != nil {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Client", "Invalid date: startdate and enddate must be Y-m-dTH:i:s")
	}
	if end.Before(start) {
		return soapFault(http.StatusInternalServerError, webgainsNS, "SOAP-ENV:Client", "enddate must not be before startdate")
	}
	clock := s.Clock()
	var items []*txn
	for _, t := range s.visible(a, clock, start, end) {
		if !t.eventAt.Before(start) && !t.eventAt.After(end) {
			items = append(items, t)
		}
	}
	var b bytes.Buffer
	b.WriteString(`<ns1:getFullEarningsWithCurrencyResponse><return xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="ns1:fullEarningsWithCurrencyArray[` + strconv.Itoa(len(items)) + `]">`)
	for _, t := range items {
		webgainsItem(&b, t, a, clock)
	}
	b.WriteString(`</return></ns1:getFullEarningsWithCurrencyResponse>`)
	return data("text/xml", soapEnvelope(webgainsNS, b.Bytes()))
}

func webgainsItem(b *bytes.Buffer, t *txn, a *account, clock time.Time) {
	f := func(x time.Time) string { return x.In(webgainsZone).Format(webgainsLayout) }
	sale, comm := t.currentAmounts(clock)
	status := webgainsStatus(t, clock)
	var validation, delayed, reason, clickRef any
	switch status {
	case "delayed":
		delayed = f(t.decideAt)
	default:
		validation = f(t.decideAt)
	}
	if status == "cancelled" {
		reason = t.declineReason
	} else if t.adjusted && status == "confirmed" {
		reason = t.amendReason
	}
	if len(t.clickRefs) > 0 {
		clickRef = t.clickRefs[0]
	}
	campaignID, _ := strconv.ParseInt(a.id, 10, 64)
	b.WriteString(`<item xsi:type="ns1:fullEarningsWithCurrencyArray">`)
	xmlElem(b, "transactionID", "xsd:int", t.num)
	xmlElem(b, "affiliateID", "xsd:int", int64(55000)+campaignID%1000)
	xmlElem(b, "campaignName", "xsd:string", t.site.name)
	xmlElem(b, "campaignID", "xsd:int", campaignID)
	xmlElem(b, "date", "xsd:dateTime", f(t.eventAt))
	xmlElem(b, "validationDate", "xsd:dateTime", validation)
	xmlElem(b, "delayedUntilDate", "xsd:string", delayed)
	xmlElem(b, "programName", "xsd:string", t.adv.name)
	xmlElem(b, "programID", "xsd:int", t.adv.id)
	xmlElem(b, "linkID", "xsd:string", strconv.FormatInt(t.adID, 10))
	xmlElem(b, "eventID", "xsd:int", int64(1)+t.adv.id%7)
	xmlElem(b, "commission", "xsd:float", floatText(comm))
	xmlElem(b, "saleValue", "xsd:float", floatText(sale))
	xmlElem(b, "status", "xsd:string", status)
	xmlElem(b, "paymentStatus", "xsd:string", webgainsPayment(t, clock))
	xmlElem(b, "changeReason", "xsd:string", reason)
	xmlElem(b, "clickRef", "xsd:string", clickRef)
	xmlElem(b, "clickthroughTime", "xsd:dateTime", f(t.clickAt))
	xmlElem(b, "landingPage", "xsd:string", t.publisherURL)
	xmlElem(b, "country", "xsd:string", t.country)
	xmlElem(b, "referrer", "xsd:string", nilIfEmpty(t.refDomain))
	xmlElem(b, "currency", "xsd:string", t.adv.currency)
	b.WriteString(`</item>`)
}

const webgainsWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:http://ws.webgains.com/aws.php"
  targetNamespace="urn:http://ws.webgains.com/aws.php">
  <types>
    <xsd:schema targetNamespace="urn:http://ws.webgains.com/aws.php">
      <xsd:complexType name="fullEarningsWithCurrencyArray">
        <xsd:all>
          <xsd:element name="transactionID" type="xsd:int"/>
          <xsd:element name="affiliateID" type="xsd:int"/>
          <xsd:element name="campaignName" type="xsd:string"/>
          <xsd:element name="campaignID" type="xsd:int"/>
          <xsd:element name="date" type="xsd:dateTime"/>
          <xsd:element name="validationDate" type="xsd:dateTime"/>
          <xsd:element name="delayedUntilDate" type="xsd:string"/>
          <xsd:element name="programName" type="xsd:string"/>
          <xsd:element name="programID" type="xsd:int"/>
          <xsd:element name="linkID" type="xsd:string"/>
          <xsd:element name="eventID" type="xsd:int"/>
          <xsd:element name="commission" type="xsd:float"/>
          <xsd:element name="saleValue" type="xsd:float"/>
          <xsd:element name="status" type="xsd:string"/>
          <xsd:element name="paymentStatus" type="xsd:string"/>
          <xsd:element name="changeReason" type="xsd:string"/>
          <xsd:element name="clickRef" type="xsd:string"/>
          <xsd:element name="clickthroughTime" type="xsd:dateTime"/>
          <xsd:element name="landingPage" type="xsd:string"/>
          <xsd:element name="country" type="xsd:string"/>
          <xsd:element name="referrer" type="xsd:string"/>
          <xsd:element name="currency" type="xsd:string"/>
        </xsd:all>
      </xsd:complexType>
      <xsd:complexType name="fullEarningsWithCurrencyReportArray">
        <xsd:complexContent>
          <xsd:restriction base="SOAP-ENC:Array">
            <xsd:attribute ref="SOAP-ENC:arrayType" wsdl:arrayType="tns:fullEarningsWithCurrencyArray[]"/>
          </xsd:restriction>
        </xsd:complexContent>
      </xsd:complexType>
    </xsd:schema>
  </types>
  <message name="getFullEarningsWithCurrencyRequest">
    <part name="startdate" type="xsd:dateTime"/>
    <part name="enddate" type="xsd:dateTime"/>
    <part name="campaignid" type="xsd:int"/>
    <part name="username" type="xsd:string"/>
    <part name="password" type="xsd:string"/>
  </message>
  <message name="getFullEarningsWithCurrencyResponse">
    <part name="return" type="tns:fullEarningsWithCurrencyReportArray"/>
  </message>
  <portType name="WebgainsPortType">
    <operation name="getFullEarningsWithCurrency">
      <input message="tns:getFullEarningsWithCurrencyRequest"/>
      <output message="tns:getFullEarningsWithCurrencyResponse"/>
    </operation>
  </portType>
  <binding name="WebgainsBinding" type="tns:WebgainsPortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="getFullEarningsWithCurrency">
      <soap:operation soapAction="urn:http://ws.webgains.com/aws.php#getFullEarningsWithCurrency" style="rpc"/>
      <input><soap:body use="encoded" namespace="urn:http://ws.webgains.com/aws.php" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input>
      <output><soap:body use="encoded" namespace="urn:http://ws.webgains.com/aws.php" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></output>
    </operation>
  </binding>
  <service name="Webgains">
    <port name="WebgainsPort" binding="tns:WebgainsBinding">
      <soap:address location="http://ws.webgains.com/aws.php"/>
    </port>
  </service>
</definitions>
`
