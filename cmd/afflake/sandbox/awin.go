package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Awin publisher API: GET /publishers/{publisherId}/transactions/
//
// The whole date window comes back as one top-level JSON array (no
// pagination). startDate and endDate (yyyy-MM-ddThh:mm:ss, both inclusive)
// are read in the requested timezone, at most 31 days apart, and every date
// in the records is expressed in that timezone without an offset. Amounts are
// JSON numbers. Errors are {"error": ..., "description": ...}.

const awinLayout = "2006-01-02T15:04:05"

func awinEmulation() *emulation {
	return &emulation{
		name:     NetworkAwin,
		accounts: awinAccounts,
		serve:    (*Server).serveAwin,
		amounts:  awinGen,
		ids: func(t *txn, day int64, i int) {
			t.num = t.acct.idBase + day*10000 + int64(i)
			t.id = strconv.FormatInt(t.num, 10)
		},
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: awinStatus(t, clock), Sale: sale.text, Commission: comm.text,
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

// awinTimezones are the values the timezone parameter accepts.
var awinTimezones = map[string]bool{
	"UTC": true, "Europe/Berlin": true, "Europe/Paris": true, "Europe/London": true, "Europe/Dublin": true,
	"Canada/Eastern": true, "Canada/Central": true, "Canada/Mountain": true, "Canada/Pacific": true,
	"US/Eastern": true, "US/Central": true, "US/Mountain": true, "US/Pacific": true,
}

func awinError(status int, msg string) *response {
	return jsonResp(status, obj{{"error", http.StatusText(status)}, {"description", msg}})
}

func awinStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "approved"
	case phaseDeclined:
		return "declined"
	}
	return "pending"
}

func (s *Server) serveAwin(r *http.Request, rest string) *response {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 3 || parts[0] != "publishers" || parts[2] != "transactions" {
		return awinError(http.StatusNotFound, "No resource found for "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return awinError(http.StatusMethodNotAllowed, "Request method '"+r.Method+"' not supported")
	}
	q := r.URL.Query()
	token := bearer(r)
	if token == "" {
		token = q.Get("accessToken")
	}
	var user *account
	for _, a := range s.accounts {
		if a.network == NetworkAwin && token != "" && a.secrets["token"] == token {
			user = a
		}
	}
	if user == nil {
		if token == "" {
			return awinError(http.StatusUnauthorized, "Full authentication is required to access this resource")
		}
		return awinError(http.StatusUnauthorized, "Invalid access token")
	}
	pubID := parts[1]
	if pubID != user.id {
		return awinError(http.StatusForbidden, "You do not have access to publisher "+pubID)
	}
	if wait := s.admit(NetworkAwin, token); wait > 0 {
		resp := awinError(http.StatusTooManyRequests, "Rate limit exceeded, too many requests")
		resp.header = map[string]string{"Retry-After": strconv.Itoa(wait)}
		return resp
	}

	tz := q.Get("timezone")
	if tz == "" {
		tz = "UTC"
	}
	if !awinTimezones[tz] {
		return awinError(http.StatusBadRequest, "Invalid timezone '"+tz+"'")
	}
	loc := mustLoad(tz)
	clock := s.Clock()
	basket := q.Get("showBasketProducts") == "true"

	var statusFilter string
	if v := q.Get("status"); v != "" {
		switch v {
		case "pending", "approved", "declined", "deleted":
			statusFilter = v
		default:
			return awinError(http.StatusBadRequest, "Invalid status '"+v+"'")
		}
	}
	advFilter := map[int64]bool{}
	if v := q.Get("advertiserId"); v != "" {
		for _, f := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return awinError(http.StatusBadRequest, "Invalid advertiserId '"+f+"'")
			}
			advFilter[id] = true
		}
	}
	keep := func(t *txn) bool {
		if statusFilter != "" && awinStatus(t, clock) != statusFilter {
			return false
		}
		return len(advFilter) == 0 || advFilter[t.adv.id]
	}

	out := []any{}
	if ids := q.Get("ids"); ids != "" {
		want := map[string]bool{}
		for _, f := range strings.Split(ids, ",") {
			f = strings.TrimSpace(f)
			if _, err := strconv.ParseInt(f, 10, 64); err != nil {
				return awinError(http.StatusBadRequest, "Invalid transaction id '"+f+"'")
			}
			want[f] = true
		}
		for _, t := range s.visible(user, clock, time.Time{}, time.Time{}) {
			if want[t.id] && keep(t) {
				out = append(out, awinRecord(t, user, clock, loc, basket))
			}
		}
		return &response{status: http.StatusOK, ctype: "application/json", body: encodeJSON(out), data: true}
	}

	sd, ed := q.Get("startDate"), q.Get("endDate")
	if sd == "" || ed == "" {
		return awinError(http.StatusBadRequest, "Mandatory parameters startDate and endDate must be provided")
	}
	startN, err1 := time.Parse(awinLayout, sd)
	endN, err2 := time.Parse(awinLayout, ed)
	if err1 != nil || err2 != nil {
		return awinError(http.StatusBadRequest, "Invalid date format, expected yyyy-MM-ddThh:mm:ss")
	}
	if endN.Before(startN) {
		return awinError(http.StatusBadRequest, "endDate must not be before startDate")
	}
	if endN.Sub(startN) > 31*24*time.Hour {
		return awinError(http.StatusBadRequest, "Date range is too large. The maximum date range between startDate and endDate is 31 days")
	}
	start := time.Date(startN.Year(), startN.Month(), startN.Day(), startN.Hour(), startN.Minute(), startN.Second(), 0, loc)
	end := time.Date(endN.Year(), endN.Month(), endN.Day(), endN.Hour(), endN.Minute(), endN.Second(), 0, loc)

	dateType := q.Get("dateType")
	if dateType == "" {
		dateType = "transaction"
	}
	var from, to time.Time
	var dateOf func(t *txn) (time.Time, bool)
	switch dateType {
	case "transaction":
		from, to = start, end
		dateOf = func(t *txn) (time.Time, bool) { return t.eventAt, true }
	case "validation":
		dateOf = func(t *txn) (time.Time, bool) { return t.decideAt, t.phase(clock) != phasePending }
	case "amendment":
		dateOf = func(t *txn) (time.Time, bool) { return t.decideAt, t.adjusted && t.phase(clock) != phasePending }
	default:
		return awinError(http.StatusBadRequest, "Invalid dateType '"+dateType+"'")
	}
	for _, t := range s.visible(user, clock, from, to) {
		d, ok := dateOf(t)
		if !ok || d.Before(start) || d.After(end) || !keep(t) {
			continue
		}
		out = append(out, awinRecord(t, user, clock, loc, basket))
	}
	return &response{status: http.StatusOK, ctype: "application/json", body: encodeJSON(out), data: true}
}

func awinMoney(a amount, cur string) obj {
	return obj{{"amount", rawNum(a.text)}, {"currency", cur}}
}

func awinRecord(t *txn, a *account, clock time.Time, loc *time.Location, basket bool) obj {
	cur := t.adv.currency
	status := awinStatus(t, clock)
	sale, comm := t.currentAmounts(clock)
	fmtT := func(x time.Time) string { return x.In(loc).Format(awinLayout) }
	pubID, _ := strconv.ParseInt(a.id, 10, 64)

	var validation, declineReason, amendReason, oldSale, oldComm any
	amended := false
	if status != "pending" {
		validation = fmtT(t.decideAt)
	}
	if status == "declined" {
		declineReason = t.declineReason
	}
	if t.adjusted && status != "pending" {
		amended = true
		amendReason = t.amendReason
		oldSale = awinMoney(t.sale, cur)
		oldComm = awinMoney(t.comm, cur)
	}
	paid := t.paid(clock)
	paymentID := int64(0)
	if paid {
		paymentID = 10000000 + floorDay(t.paidAt)
	}
	var voucher any
	if t.voucher != "" {
		voucher = t.voucher
	}
	var customer any
	switch t.customer {
	case 1:
		customer = "NEW"
	case 2:
		customer = "EXISTING"
	}
	var orderRef any
	if !t.orderRefNull {
		orderRef = t.orderRef
	}
	var custom any
	if t.subIDs[1] != "" {
		custom = []any{obj{{"key", "1"}, {"value", t.subIDs[1]}}}
	}

	rec := obj{
		{"id", t.num},
		{"url", t.site.url},
		{"advertiserId", t.adv.id},
		{"publisherId", pubID},
		{"commissionSharingPublisherId", nil},
		{"commissionSharingSelectedRatePublisherId", nil},
		{"campaign", nil},
		{"siteName", t.site.name},
		{"commissionStatus", status},
		{"commissionAmount", awinMoney(comm, cur)},
		{"saleAmount", awinMoney(sale, cur)},
		{"ipHash", t.ipHash},
		{"customerCountry", t.country},
	}
	switch t.clickRefsMode {
	case 0:
		refs := obj{}
		for i, v := range t.clickRefs {
			k := "clickRef"
			if i > 0 {
				k += strconv.Itoa(i + 1)
			}
			refs = append(refs, kv{k, v})
		}
		rec = append(rec, kv{"clickRefs", refs})
	case 1:
		rec = append(rec, kv{"clickRefs", nil})
	}
	rec = append(rec, obj{
		{"clickDate", fmtT(t.clickAt)},
		{"transactionDate", fmtT(t.eventAt)},
		{"validationDate", validation},
		{"type", "Commission group transaction"},
		{"declineReason", declineReason},
		{"voucherCodeUsed", t.voucher != ""},
		{"voucherCode", voucher},
		{"lapseTime", int64(t.eventAt.Sub(t.clickAt) / time.Second)},
		{"amended", amended},
		{"amendReason", amendReason},
		{"oldSaleAmount", oldSale},
		{"oldCommissionAmount", oldComm},
		{"clickDevice", t.clickDevice},
		{"transactionDevice", t.txDevice},
		{"customerAcquisition", customer},
		{"publisherUrl", t.publisherURL},
		{"advertiserCountry", t.adv.country},
		{"orderRef", orderRef},
		{"customParameters", custom},
		{"transactionParts", []any{obj{
			{"commissionGroupId", t.adv.groupID},
			{"amount", rawNum(sale.text)},
			{"commissionAmount", rawNum(comm.text)},
			{"advertiserCost", nil},
			{"commissionGroupCode", t.adv.groupCode},
			{"commissionGroupName", t.adv.groupName},
			{"trackedParts", []any{obj{{"code", t.adv.groupCode}, {"amount", rawNum(sale.text)}, {"currency", cur}}}},
		}}},
		{"paidToPublisher", paid},
		{"paymentId", paymentID},
		{"transactionQueryId", int64(0)},
		{"originalSaleAmount", nil},
		{"advertiserCost", obj{{"amount", nil}, {"currency", nil}}},
	}...)
	if basket {
		rec = append(rec, kv{"basketProducts", []any{obj{
			{"productId", strconv.FormatInt(t.adID, 10)},
			{"productName", t.adv.name + " item"},
			{"unitPrice", rawNum(sale.text)},
			{"quantity", 1},
			{"skuCode", "SKU-" + strconv.FormatInt(t.adID, 10)},
			{"commissionGroupCode", t.adv.groupCode},
			{"category", "General"},
		}}})
	}
	return rec
}
