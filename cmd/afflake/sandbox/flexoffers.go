package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// FlexOffers publisher API, sales report:
//
//	GET /flexoffers/allsales
//
// The API key of a publisher domain is the ApiKey header. reportType=sales,
// startDate and endDate (ISO-8601 without an offset, e.g.
// 2026-10-01T00:00:00, or a bare date for whole days; US Eastern Standard
// Time, UTC-5 all year; start inclusive, end exclusive), status=all or one
// order status, page (from 1) and pageSize (at most 500, default 100). The
// answer is {"results": [...], "totalCount": N}; dates are ISO-8601 without
// an offset in EST, amounts JSON numbers in the record's currency.
// orderStatus is pending, approved, cancelled or non-commissionable.
// Errors are {"message": ...}.
//
// Not found in FlexOffers' published material, chosen here: the end date
// being exclusive, the fixed UTC-5 offset (the documentation says EST), the
// default page size, the error body, the name of the id field (legacyId)
// and no maximum date range (none is documented).

const flexLayout = "2006-01-02T15:04:05"

var flexZone = time.FixedZone("EST", -5*3600)

func flexEmulation() *emulation {
	return &emulation{
		name:     NetworkFlexOffers,
		accounts: flexAccounts,
		serve:    (*Server).serveFlex,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: flexStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func flexAccounts() []*account {
	return []*account{
		{
			network: NetworkFlexOffers, id: "1184527", currency: "USD", idBase: 2100000000,
			secrets: map[string]string{"api_key": "3f2b8c1e-6d4a-4f9b-a7c2-91e5d0b8f6a3"},
			advertisers: []advertiser{
				{id: 163102, name: "Walmart.com", currency: "USD", rateBP: 400},
				{id: 177511, name: "Nordstrom Rack", currency: "USD", rateBP: 500},
				{id: 190412, name: "Hôtel Collection", currency: "USD", rateBP: 1200},
			},
			sites:     []site{{id: "1184527", name: "savings-guide.example.com"}},
			countries: []string{"US", "US", "US", "CA"},
		},
		{
			network: NetworkFlexOffers, id: "1290003", currency: "USD", idBase: 2200000000,
			secrets: map[string]string{"api_key": "a81d4e7f-0c3b-4e2a-9f6d-5b7c8e1a2d30"},
			advertisers: []advertiser{
				{id: 201188, name: "Canadian Tire", currency: "CAD", rateBP: 350},
				{id: 205590, name: "Loan Leads Inc", currency: "USD", rateBP: 0, actionType: "lead"},
			},
			sites:     []site{{id: "1290003", name: "finance-tips.example.com"}},
			countries: []string{"CA", "CA", "US"},
		},
	}
}

func flexStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "approved"
	case phaseDeclined:
		if t.flavor < 30 {
			return "non-commissionable"
		}
		return "cancelled"
	}
	return "pending"
}

func flexError(status int, msg string) *response {
	return jsonResp(status, obj{{"message", msg}})
}

func (s *Server) serveFlex(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/allsales" {
		return flexError(http.StatusNotFound, "No HTTP resource was found that matches the request URI")
	}
	if r.Method != http.MethodGet {
		return flexError(http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'")
	}
	key := r.Header.Get("ApiKey")
	var a *account
	for _, x := range s.accountsOf(NetworkFlexOffers) {
		if key != "" && x.secrets["api_key"] == key {
			a = x
		}
	}
	if a == nil {
		return flexError(http.StatusUnauthorized, "Authorization has been denied for this request: invalid ApiKey")
	}
	if resp := s.throttle(NetworkFlexOffers, key, func() *response {
		return flexError(http.StatusTooManyRequests, "API calls quota exceeded! maximum admitted 50 per Second.")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	if rt := q.Get("reportType"); rt != "" && rt != "sales" {
		return flexError(http.StatusBadRequest, "Invalid reportType '"+rt+"'")
	}
	parse := func(v string) (time.Time, bool) {
		for _, layout := range []string{flexLayout, "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, v, flexZone); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	sd, ed := q.Get("startDate"), q.Get("endDate")
	if sd == "" || ed == "" {
		return flexError(http.StatusBadRequest, "startDate and endDate are required")
	}
	start, ok1 := parse(sd)
	end, ok2 := parse(ed)
	if !ok1 || !ok2 {
		return flexError(http.StatusBadRequest, "The request is invalid: startDate and endDate must be ISO 8601 dates")
	}
	if end.Before(start) {
		return flexError(http.StatusBadRequest, "endDate must not be before startDate")
	}
	status := strings.ToLower(q.Get("status"))
	switch status {
	case "", "all", "pending", "approved", "cancelled", "non-commissionable":
	default:
		return flexError(http.StatusBadRequest, "Invalid status '"+q.Get("status")+"'")
	}
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return flexError(http.StatusBadRequest, "page must be a positive number")
	}
	size, ok := intParam(q, "pageSize", 100, 1, 500)
	if !ok {
		return flexError(http.StatusBadRequest, "pageSize must be between 1 and 500")
	}
	clock := s.Clock()
	var matched []*txn
	for _, t := range s.visible(a, clock, start, end) {
		if !inWindow(t.eventAt, start, end) {
			continue
		}
		if status != "" && status != "all" && flexStatus(t, clock) != status {
			continue
		}
		matched = append(matched, t)
	}
	if s.repeatCursor() {
		page = 1
	}
	results := []any{}
	for _, t := range window(matched, (page-1)*size, size) {
		results = append(results, flexRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(obj{{"results", results}, {"totalCount", len(matched)}}))
}

func flexRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(flexZone).Format(flexLayout) }
	sale, comm := t.currentAmounts(clock)
	sub := func(i int) any {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return nil
	}
	var sub1 any
	if t.clickRefsMode == 0 {
		sub1 = sub(0)
	}
	return obj{
		{"legacyId", t.id},
		{"orderId", orderRefOr(t, "")},
		{"domainId", a.id},
		{"programId", t.adv.id},
		{"programName", t.adv.name},
		{"clickDate", f(t.clickAt)},
		{"eventDate", f(t.eventAt)},
		{"modifiedDate", f(t.changedAt(clock, false))},
		{"orderStatus", flexStatus(t, clock)},
		{"saleAmount", rawNum(floatText(sale))},
		{"merchantValue", rawNum(floatText(sale))},
		{"commission", rawNum(floatText(comm))},
		{"currency", t.adv.currency},
		{"isBonus", false},
		{"subTracking", sub1},
		{"subId1", sub1},
		{"subId2", sub(1)},
		{"subId3", sub(2)},
		{"subId4", nil},
		{"subId5", nil},
	}
}
