package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Pepperjam (Ascend) publisher transaction details report:
//
//	GET /pepperjam/20120402/publisher/report/transaction-details
//
// The API key is the apiKey query parameter; format=json is required.
// startDate and endDate are yyyy-mm-dd (inclusive days, US Eastern time), at
// most 6 months apart. Pages hold pepperjamPageSize records; page (from 1)
// selects one and meta.pagination.next.href, absent on the last page, is
// the absolute URL of the next (it carries the apiKey). Records are data[];
// every value is a string, amounts with two decimals, dates
// "YYYY-MM-DD HH:MM:SS" in US Eastern time. status is pending, delayed
// (pending past the usual locking period), locked (approved), paid or
// unconfirmed (the advertiser did not confirm the sale). Errors are
// {"meta": {"status": {"code", "message"}}, "data": []}.
//
// Not found in Pepperjam's published material, chosen here: the page size,
// the time zone, the error body and every value being a string.

const (
	pepperjamLayout   = "2006-01-02 15:04:05"
	pepperjamPageSize = 500
	pepperjamPath     = "/20120402/publisher/report/transaction-details"
)

var pepperjamZone = mustLoad("America/New_York")

func pepperjamEmulation() *emulation {
	return &emulation{
		name:     NetworkPepperjam,
		accounts: pepperjamAccounts,
		serve:    (*Server).servePepperjam,
		amounts:  decimalAmounts(2),
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: pepperjamStatus(t, clock), Sale: sale.text, Commission: comm.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func pepperjamAccounts() []*account {
	return []*account{
		{
			network: NetworkPepperjam, id: "176432", currency: "USD", loc: pepperjamZone, idBase: 600000000,
			secrets: map[string]string{"api_key": "6c1f8e2a9b4d7c3e5f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6"},
			advertisers: []advertiser{
				{id: 8713, name: "Rockport Shoes", rateBP: 800, actionType: "sale"},
				{id: 10022, name: "Café Bustelo Shop", rateBP: 1000, actionType: "sale"},
				{id: 9120, name: "Lead Gen Insurance", rateBP: 0, actionType: "lead"},
			},
			sites:     []site{{id: "176432", name: "Coupon Corner"}},
			countries: []string{"US", "US", "US", "CA"},
		},
		{
			network: NetworkPepperjam, id: "209118", currency: "USD", loc: pepperjamZone, idBase: 700000000,
			secrets: map[string]string{"api_key": "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b"},
			advertisers: []advertiser{
				{id: 7731, name: "Bed Bath & Béyond", rateBP: 400, actionType: "sale"},
				{id: 12400, name: "Sephora US", rateBP: 500, actionType: "sale"},
			},
			sites:     []site{{id: "209118", name: "Beauty Deals Daily"}},
			countries: []string{"US", "US", "PR"},
		},
	}
}

func pepperjamStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "unconfirmed"
	case phaseApproved:
		if t.paid(clock) {
			return "paid"
		}
		return "locked"
	}
	if t.flavor < 15 && !clock.Before(t.eventAt.Add(7*24*time.Hour)) {
		return "delayed"
	}
	return "pending"
}

func pepperjamError(status int, msg string) *response {
	return jsonResp(status, obj{
		{"meta", obj{{"status", obj{{"code", status}, {"message", msg}}}}},
		{"data", []any{}},
	})
}

func (s *Server) servePepperjam(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != pepperjamPath {
		return pepperjamError(http.StatusNotFound, "Resource not found")
	}
	if r.Method != http.MethodGet {
		return pepperjamError(http.StatusMethodNotAllowed, "Method not allowed")
	}
	q := r.URL.Query()
	key := q.Get("apiKey")
	var a *account
	for _, x := range s.accountsOf(NetworkPepperjam) {
		if key != "" && x.secrets["api_key"] == key {
			a = x
		}
	}
	if a == nil {
		return pepperjamError(http.StatusUnauthorized, "Invalid API key")
	}
	if resp := s.throttle(NetworkPepperjam, key, func() *response {
		return pepperjamError(http.StatusTooManyRequests, "Request limit exceeded")
	}); resp != nil {
		return resp
	}
	switch q.Get("format") {
	case "json":
	case "":
		return pepperjamError(http.StatusBadRequest, "Missing required parameter: format")
	default:
		return pepperjamError(http.StatusBadRequest, "Unsupported format '"+q.Get("format")+"': this emulation serves json")
	}
	sd, ed := q.Get("startDate"), q.Get("endDate")
	if sd == "" || ed == "" {
		return pepperjamError(http.StatusBadRequest, "Missing required parameter: startDate and endDate")
	}
	start, err1 := time.ParseInLocation("2006-01-02", sd, pepperjamZone)
	last, err2 := time.ParseInLocation("2006-01-02", ed, pepperjamZone)
	if err1 != nil || err2 != nil {
		return pepperjamError(http.StatusBadRequest, "Invalid date: use yyyy-mm-dd")
	}
	if last.Before(start) {
		return pepperjamError(http.StatusBadRequest, "endDate must not be before startDate")
	}
	if last.After(start.AddDate(0, 6, 0)) {
		return pepperjamError(http.StatusBadRequest, "The date range cannot exceed 6 months")
	}
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return pepperjamError(http.StatusBadRequest, "Invalid page")
	}
	end := last.AddDate(0, 0, 1)
	clock := s.Clock()
	var matched []*txn
	for _, t := range s.visible(a, clock, start, end) {
		if inWindow(t.eventAt, start, end) {
			matched = append(matched, t)
		}
	}
	total := pages(len(matched), pepperjamPageSize)
	recs := []any{}
	for _, t := range window(matched, (page-1)*pepperjamPageSize, pepperjamPageSize) {
		recs = append(recs, pepperjamRecord(t, clock))
	}
	pagination := obj{{"total_results", len(matched)}, {"total_pages", total}}
	next := 0
	if page < total {
		next = page + 1
	}
	if s.repeatCursor() {
		next = 2
	}
	if next > 0 {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		v.Set("page", strconv.Itoa(next))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		href := scheme + "://" + r.Host + "/" + NetworkPepperjam + pepperjamPath + "?" + v.Encode()
		pagination = append(pagination, kv{"next", obj{{"rel", "next"}, {"href", href}, {"description", "Next Page"}}})
	}
	body := obj{
		{"meta", obj{
			{"status", obj{{"code", 200}, {"message", "OK"}}},
			{"pagination", pagination},
			{"requests", obj{{"current", 1}, {"maximum", 1500}}},
		}},
		{"data", recs},
	}
	return data("application/json", encodeJSON(body))
}

func pepperjamRecord(t *txn, clock time.Time) obj {
	sale, comm := t.currentAmounts(clock)
	typ := "sale"
	if t.adv.actionType == "lead" {
		typ = "lead"
	}
	newToFile := "0"
	if t.customer == 1 {
		newToFile = "1"
	}
	sid := ""
	if len(t.clickRefs) > 0 {
		sid = t.clickRefs[0]
	}
	dev := "desktop"
	switch cjDevice(t.txDevice) {
	case "MOBILE":
		dev = "mobile"
	case "TABLET":
		dev = "tablet"
	}
	return obj{
		{"transaction_id", t.id},
		{"order_id", orderRefOr(t, "")},
		{"creative_type", "text"},
		{"commission", comm.text},
		{"sale_amount", sale.text},
		{"type", typ},
		{"date", t.eventAt.In(pepperjamZone).Format(pepperjamLayout)},
		{"status", pepperjamStatus(t, clock)},
		{"new_to_file", newToFile},
		{"sub_type", ""},
		{"sid", sid},
		{"program_name", t.adv.name},
		{"program_id", strconv.FormatInt(t.adv.id, 10)},
		{"device_type", dev},
	}
}
