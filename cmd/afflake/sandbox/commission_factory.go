package sandbox

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Commission Factory affiliate API:
//
//	GET /commission_factory/V1/Affiliate/Transactions
//
// The API key is the apiKey query parameter. fromDate and toDate are
// yyyy-MM-dd (whole days) or yyyy-MM-ddTHH:mm:ss, UTC, start inclusive and
// end exclusive; dateProperty=DateCreated (default) or DateModified selects
// the date they filter; status=Pending|Approved|Void filters. The whole
// window comes back as one top-level array (no pagination), JSON, or XML
// with Accept: application/xml. Dates are ISO-8601 without an offset with
// milliseconds, amounts JSON numbers: SaleValue and Commission in the
// affiliate's currency, ReportedSaleValue in the merchant's
// ReportedCurrencyCode. Status is Pending, Approved or Void; Status2 is
// Paid once paid (else the Status); CustomerCountryCode is ISO 3166
// alpha-3. Errors are {"Message": ...}.
//
// Not found in Commission Factory's published material, chosen here: the
// time zone (UTC), the end date being exclusive, the Status2 values other
// than Paid, the Items field names, and no maximum date range.

const cfLayout = "2006-01-02T15:04:05.000"

func cfEmulation() *emulation {
	return &emulation{
		name:     NetworkCommissionFactory,
		accounts: cfAccounts,
		serve:    (*Server).serveCF,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
		},
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: cfStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func cfAccounts() []*account {
	return []*account{
		{
			network: NetworkCommissionFactory, id: "41208", currency: "AUD", idBase: 800000000,
			secrets: map[string]string{"api_key": "cf0d7e2b9a4c4f1e8b6a3d5c7e9f1a2b"},
			advertisers: []advertiser{
				{id: 12891, name: "The Iconic", currency: "AUD", country: "AUS", rateBP: 700},
				{id: 20774, name: "Kathmandu NZ", currency: "NZD", country: "NZL", rateBP: 600},
				{id: 30110, name: "Café Direct AU", currency: "AUD", country: "AUS", rateBP: 1000},
			},
			sites:     []site{{id: "77120", name: "Aussie Bargains"}},
			countries: []string{"AUS", "AUS", "AUS", "NZL", "GBR"},
		},
		{
			network: NetworkCommissionFactory, id: "55930", currency: "NZD", idBase: 860000000,
			secrets: map[string]string{"api_key": "cf9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"},
			advertisers: []advertiser{
				{id: 22108, name: "Noel Leeming", currency: "NZD", country: "NZL", rateBP: 300},
				{id: 22540, name: "Ōtautahi Outdoors", currency: "NZD", country: "NZL", rateBP: 800},
			},
			sites:     []site{{id: "88213", name: "Kiwi Deals"}},
			countries: []string{"NZL", "NZL", "AUS"},
		},
	}
}

func cfStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "Approved"
	case phaseDeclined:
		return "Void"
	}
	return "Pending"
}

func cfError(status int, msg string) *response {
	return jsonResp(status, obj{{"Message", msg}})
}

// cfReported converts an amount in the affiliate's currency into the
// merchant's, at a fixed rate for a foreign merchant.
func cfReported(a *account, ad *advertiser, v amount) amount {
	if ad.currency == a.currency {
		return v
	}
	return mkAmount(rescale(v.units, v.scale, 2, 10840, 10000), 2)
}

func (s *Server) serveCF(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/V1/Affiliate/Transactions" {
		return cfError(http.StatusNotFound, "No HTTP resource was found that matches the request URI")
	}
	if r.Method != http.MethodGet {
		return cfError(http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.")
	}
	q := r.URL.Query()
	key := q.Get("apiKey")
	var a *account
	for _, x := range s.accountsOf(NetworkCommissionFactory) {
		if key != "" && x.secrets["api_key"] == key {
			a = x
		}
	}
	if a == nil {
		return cfError(http.StatusUnauthorized, "Authorization has been denied for this request.")
	}
	if resp := s.throttle(NetworkCommissionFactory, key, func() *response {
		return cfError(http.StatusTooManyRequests, "API rate limit exceeded.")
	}); resp != nil {
		return resp
	}
	parse := func(v string) (time.Time, bool) {
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	fd, td := q.Get("fromDate"), q.Get("toDate")
	if fd == "" || td == "" {
		return cfError(http.StatusBadRequest, "The request is invalid: fromDate and toDate are required.")
	}
	from, ok1 := parse(fd)
	to, ok2 := parse(td)
	if !ok1 || !ok2 {
		return cfError(http.StatusBadRequest, "The request is invalid: fromDate and toDate must be yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss.")
	}
	if to.Before(from) {
		return cfError(http.StatusBadRequest, "The request is invalid: toDate must not be before fromDate.")
	}
	clock := s.Clock()
	var dateOf func(*txn) time.Time
	var sf, st time.Time
	switch dp := q.Get("dateProperty"); dp {
	case "", "DateCreated":
		dateOf, sf, st = func(t *txn) time.Time { return t.eventAt }, from, to
	case "DateModified":
		dateOf = func(t *txn) time.Time { return t.changedAt(clock, true) }
	default:
		return cfError(http.StatusBadRequest, "The request is invalid: dateProperty must be DateCreated or DateModified.")
	}
	status := q.Get("status")
	switch status {
	case "", "Pending", "Approved", "Void":
	default:
		return cfError(http.StatusBadRequest, "The request is invalid: status must be Pending, Approved or Void.")
	}
	var recs []obj
	for _, t := range s.visible(a, clock, sf, st) {
		if !inWindow(dateOf(t), from, to) || (status != "" && cfStatus(t, clock) != status) {
			continue
		}
		recs = append(recs, cfRecord(t, a, clock))
	}
	if recs == nil {
		recs = []obj{}
	}
	if strings.Contains(r.Header.Get("Accept"), "xml") {
		return data("application/xml", cfXML(recs))
	}
	return data("application/json", encodeJSON(recs))
}

func cfRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.UTC().Format(cfLayout) }
	sale, comm := t.currentAmounts(clock)
	status := cfStatus(t, clock)
	var validation any
	if status != "Pending" {
		validation = f(t.decideAt)
	}
	status2 := status
	paid := t.paid(clock)
	if paid {
		status2 = "Paid"
	}
	var customer any
	switch t.customer {
	case 1:
		customer = "New"
	case 2:
		customer = "Returning"
	}
	uid := func(i int) any {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return nil
	}
	var void any
	if status == "Void" {
		void = t.declineReason
	}
	items := []any{}
	for i := range t.lines {
		l := &t.lines[i]
		items = append(items, obj{
			{"Sku", l.sku},
			{"Name", l.name},
			{"Quantity", l.qty},
			{"Price", rawNum(floatText(l.sale))},
			{"Commission", rawNum(floatText(l.comm))},
		})
	}
	return obj{
		{"Id", t.num},
		{"DateCreated", f(t.eventAt)},
		{"DateModified", f(t.changedAt(clock, true))},
		{"ValidationDate", validation},
		{"MerchantId", t.adv.id},
		{"MerchantName", t.adv.name},
		{"MerchantAvatarUrl", "https://cdn.example.com/merchants/" + strconv.FormatInt(t.adv.id, 10) + ".png"},
		{"TrafficType", "Sale"},
		{"TrafficSource", t.site.name},
		{"CustomerType", customer},
		{"CustomerCountryCode", t.country},
		{"OrderId", orderRefOr(t, "")},
		{"VoucherCode", nilIfEmpty(t.voucher)},
		{"SaleValue", rawNum(floatText(sale))},
		{"Commission", rawNum(floatText(comm))},
		{"ReportedCurrencyCode", t.adv.currency},
		{"ReportedSaleValue", rawNum(floatText(cfReported(a, t.adv, sale)))},
		{"Status", status},
		{"Status2", status2},
		{"VoidReason", void},
		{"Paid", paid},
		{"UniqueId1", uid(0)},
		{"UniqueId2", uid(1)},
		{"UniqueId3", uid(2)},
		{"UniqueId4", nil},
		{"Items", items},
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// cfXML renders records as the API's XML: one element per field, null
// fields as i:nil, Items as nested Item elements.
func cfXML(recs []obj) []byte {
	var b bytes.Buffer
	b.WriteString(`<ArrayOfTransaction xmlns:i="http://www.w3.org/2001/XMLSchema-instance">`)
	var write func(name string, v any)
	write = func(name string, v any) {
		switch x := v.(type) {
		case nil:
			b.WriteString("<" + name + ` i:nil="true"/>`)
		case obj:
			b.WriteString("<" + name + ">")
			for _, e := range x {
				write(e.k, e.v)
			}
			b.WriteString("</" + name + ">")
		case []any:
			b.WriteString("<" + name + ">")
			for _, e := range x {
				write("Item", e)
			}
			b.WriteString("</" + name + ">")
		default:
			b.WriteString("<" + name + ">")
			_ = xml.EscapeText(&b, []byte(scalarText(x)))
			b.WriteString("</" + name + ">")
		}
	}
	for _, r := range recs {
		write("Transaction", r)
	}
	b.WriteString("</ArrayOfTransaction>")
	return b.Bytes()
}

// scalarText is the text of a scalar JSON value.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case rawNum:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}
