package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Partnerize partner conversions report:
//
//	GET /partnerize/reporting/report_publisher/publisher/{publisher_id}/conversion.json
//
// HTTP Basic auth application_key:user_api_key. start_date is required,
// end_date defaults to now; both are "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD" or
// ISO-8601, read in the timezone parameter (default UTC) unless they carry
// an offset; start inclusive, end exclusive. date_type=last_modified or
// approved_at filters on those dates instead of conversion_time;
// statuses[]=approved|pending|rejected filters the conversion status. Pages
// hold limit (300) conversions from offset; count is the number of
// conversions matching the whole request. Records are
// conversions[].conversion_data; dates are "YYYY-MM-DD HH:MM:SS" in the
// requested timezone, amounts JSON numbers in the campaign's currency. A
// conversion whose basket was partly returned has one rejected item and
// status "mixed". include_payment_info=true adds payment_status (paid or
// unpaid) to each item. Errors are {"error": {"code": ..., "message": ...}}.
//
// Not found in Partnerize's published material, chosen here: the error
// body shape, count being the total rather than the page size, the end
// date being exclusive, and the payment_status values.

const (
	partnerizeLayout = "2006-01-02 15:04:05"
	partnerizeLimit  = 300
)

func partnerizeEmulation() *emulation {
	return &emulation{
		name:     NetworkPartnerize,
		accounts: partnerizeAccounts,
		serve:    (*Server).servePartnerize,
		amounts:  floatAmounts,
		ids: func(t *txn, day int64, i int) {
			t.num = t.acct.idBase + day*10000 + int64(i)
			t.id = "1011l" + strconv.FormatInt(t.num, 10)
		},
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "1011l")
		},
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			v, c := partnerizeValue(t, clock)
			return []Truth{{ID: t.id, Status: partnerizeStatus(t, clock), Sale: floatText(v), Commission: floatText(c),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func partnerizeAccounts() []*account {
	return []*account{
		{
			network: NetworkPartnerize, id: "1100l1208", currency: "GBP", idBase: 3000000000,
			secrets: map[string]string{"application_key": "pzk_8Hq2LmX4vN7cR1tB", "user_api_key": "pzu_Wd3Ks9Fj5Pz0Yh6G"},
			advertisers: []advertiser{
				{id: 10, groupID: 176, name: "Harrods Beauty", currency: "GBP", rateBP: 700},
				{id: 10, groupID: 2291, name: "Café de Flore Boutique", currency: "EUR", rateBP: 900},
				{id: 11, groupID: 35, name: "Apple Store UK", currency: "GBP", rateBP: 250},
				{id: 12, groupID: 4410, name: "Brooks Running US", currency: "USD", rateBP: 1100},
			},
			sites:     []site{{id: "1100l1208", name: "Runner's Digest"}},
			countries: []string{"GB", "GB", "GB", "IE", "FR", "US"},
		},
		{
			network: NetworkPartnerize, id: "1100l3377", currency: "EUR", idBase: 3500000000,
			secrets: map[string]string{"application_key": "pzk_8Hq2LmX4vN7cR1tB", "user_api_key": "pzu_Zr8Mn1Qc4Tx7Lb2V"},
			advertisers: []advertiser{
				{id: 13, groupID: 812, name: "Zalando Österreich", currency: "EUR", rateBP: 800},
				{id: 14, groupID: 97, name: "Booking Hôtels", currency: "EUR", rateBP: 400},
				{id: 15, groupID: 5120, name: "ユニクロ EU", currency: "USD", rateBP: 600},
			},
			sites:     []site{{id: "1100l3377", name: "Voyages Élégants"}},
			countries: []string{"DE", "AT", "FR", "ES", "JP"},
		},
	}
}

func partnerizeError(status int, msg string) *response {
	return jsonResp(status, obj{{"error", obj{{"code", status}, {"message", msg}}}})
}

func partnerizeStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "rejected"
	case phaseApproved:
		if t.adjusted {
			return "mixed"
		}
		return "approved"
	}
	return "pending"
}

// partnerizeValue is the conversion value and commission at clock: the
// rejected items drop out once the amendment is made.
func partnerizeValue(t *txn, clock time.Time) (amount, amount) {
	return t.currentAmounts(clock)
}

func partnerizeItemStatus(t *txn, l *line, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "rejected"
	case phaseApproved:
		if l.declined {
			return "rejected"
		}
		return "approved"
	}
	return "pending"
}

func partnerizeCampaign(ad *advertiser) string {
	return strconv.FormatInt(ad.id, 10) + "l" + strconv.FormatInt(ad.groupID, 10)
}

// parsePartnerizeTime reads a report date in loc unless it has an offset.
func parsePartnerizeTime(v string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	for _, layout := range []string{partnerizeLayout, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) servePartnerize(r *http.Request, rest string) *response {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 5 || parts[0] != "reporting" || parts[1] != "report_publisher" || parts[2] != "publisher" ||
		!strings.HasPrefix(parts[4], "conversion.") {
		return partnerizeError(http.StatusNotFound, "Resource not found")
	}
	if r.Method != http.MethodGet {
		return partnerizeError(http.StatusMethodNotAllowed, "Method not allowed")
	}
	appKey, userKey, ok := basicAuth(r)
	var user *account
	for _, a := range s.accountsOf(NetworkPartnerize) {
		if ok && a.secrets["application_key"] == appKey && a.secrets["user_api_key"] == userKey {
			user = a
		}
	}
	if user == nil {
		return partnerizeError(http.StatusUnauthorized, "Authentication failed: invalid application_key or user_api_key")
	}
	if parts[3] != user.id {
		return partnerizeError(http.StatusForbidden, "You do not have access to publisher "+parts[3])
	}
	if parts[4] != "conversion.json" {
		return partnerizeError(http.StatusBadRequest, "Unsupported format '"+strings.TrimPrefix(parts[4], "conversion.")+"': this endpoint is emulated as json only")
	}
	if resp := s.throttle(NetworkPartnerize, userKey, func() *response {
		return partnerizeError(http.StatusTooManyRequests, "Too many requests, slow down")
	}); resp != nil {
		return resp
	}

	q := r.URL.Query()
	tz := q.Get("timezone")
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return partnerizeError(http.StatusBadRequest, "Invalid timezone '"+tz+"'")
	}
	clock := s.Clock()
	sv := q.Get("start_date")
	if sv == "" {
		return partnerizeError(http.StatusBadRequest, "start_date is required")
	}
	start, ok1 := parsePartnerizeTime(sv, loc)
	end, ok2 := clock, true
	if ev := q.Get("end_date"); ev != "" {
		end, ok2 = parsePartnerizeTime(ev, loc)
	}
	if !ok1 || !ok2 {
		return partnerizeError(http.StatusBadRequest, "Invalid date: use YYYY-MM-DD HH:MM:SS or ISO 8601")
	}
	if end.Before(start) {
		return partnerizeError(http.StatusBadRequest, "end_date must not be before start_date")
	}
	offset, ok := intParam(q, "offset", 0, 0, 1<<30)
	if !ok {
		return partnerizeError(http.StatusBadRequest, "offset must be a non-negative integer")
	}
	statuses := map[string]bool{}
	for _, v := range q["statuses[]"] {
		switch v {
		case "approved", "pending", "rejected":
			statuses[v] = true
		default:
			return partnerizeError(http.StatusBadRequest, "Invalid status '"+v+"'; available values: approved, pending, rejected")
		}
	}
	var dateOf func(*txn) (time.Time, bool)
	var from, to time.Time
	switch dt := q.Get("date_type"); dt {
	case "", "conversion_time":
		from, to = start, end
		dateOf = func(t *txn) (time.Time, bool) { return t.eventAt, true }
	case "last_modified":
		dateOf = func(t *txn) (time.Time, bool) { return t.changedAt(clock, false), true }
	case "approved_at":
		dateOf = func(t *txn) (time.Time, bool) { return t.decideAt, t.phase(clock) == phaseApproved }
	default:
		return partnerizeError(http.StatusBadRequest, "Invalid date_type '"+dt+"'")
	}
	payment := q.Get("include_payment_info") == "true" || q.Get("include_payment_info") == "1"

	var matched []*txn
	for _, t := range s.visible(user, clock, from, to) {
		d, ok := dateOf(t)
		if !ok || !inWindow(d, start, end) {
			continue
		}
		st := partnerizeStatus(t, clock)
		if st == "mixed" {
			st = "approved"
		}
		if len(statuses) > 0 && !statuses[st] {
			continue
		}
		matched = append(matched, t)
	}
	if s.repeatCursor() {
		offset = 0
	}

	type tot struct{ n, value, comm amount }
	totals := map[string]*tot{}
	var curs []string
	for _, t := range matched {
		v, c := partnerizeValue(t, clock)
		tt := totals[t.adv.currency]
		if tt == nil {
			tt = &tot{mkAmount(0, 0), mkAmount(0, 6), mkAmount(0, 6)}
			totals[t.adv.currency] = tt
			curs = append(curs, t.adv.currency)
		}
		tt.n.units++
		tt.value.units += rescale(v.units, v.scale, 6, 1, 1)
		tt.comm.units += rescale(c.units, c.scale, 6, 1, 1)
	}
	count, value, comm := obj{}, obj{}, obj{}
	for _, c := range curs {
		tt := totals[c]
		count = append(count, kv{c, tt.n.units})
		value = append(value, kv{c, rawNum(floatText(tt.value))})
		comm = append(comm, kv{c, rawNum(floatText(tt.comm))})
	}
	convs := []any{}
	for _, t := range window(matched, offset, partnerizeLimit) {
		convs = append(convs, obj{{"conversion_data", partnerizeRecord(t, user, clock, loc, payment)}})
	}
	body := obj{
		{"total_conversion_count", count},
		{"total_publisher_commission", comm},
		{"total_value", value},
		{"start_date_time_utc", start.UTC().Format(partnerizeLayout)},
		{"end_date_time_utc", end.UTC().Format(partnerizeLayout)},
		{"start_date_time", start.In(loc).Format(partnerizeLayout)},
		{"end_date_time", end.In(loc).Format(partnerizeLayout)},
		{"limit", partnerizeLimit},
		{"meta_data", []any{}},
		{"count", len(matched)},
		{"execution_time", "0.04127 seconds"},
		{"conversions", convs},
	}
	return data("application/json", encodeJSON(body))
}

func partnerizeDevice(d string) (int, string) {
	switch d {
	case "iPhone", "Android Mobile":
		return 3, "Smartphone"
	case "iPad":
		return 4, "Tablet"
	}
	return 2, "Desktop"
}

func partnerizeRecord(t *txn, a *account, clock time.Time, loc *time.Location, payment bool) obj {
	f := func(x time.Time) string { return x.In(loc).Format(partnerizeLayout) }
	campaign := partnerizeCampaign(t.adv)
	v, c := partnerizeValue(t, clock)
	clickref := ""
	if len(t.clickRefs) > 0 {
		clickref = t.clickRefs[0]
	}
	var customer any
	switch t.customer {
	case 1:
		customer = "new"
	case 2:
		customer = "existing"
	}
	devID, dev := partnerizeDevice(t.txDevice)
	meta := any([]any{})
	if t.subIDs[1] != "" {
		meta = obj{{"campaign_code", t.subIDs[1]}}
	}
	items := []any{}
	for i := range t.lines {
		l := &t.lines[i]
		st := partnerizeItemStatus(t, l, clock)
		var approvedAt, reject any
		statusID := 1
		switch st {
		case "approved":
			approvedAt, statusID = f(t.decideAt), 2
		case "rejected":
			statusID = 3
			if l.declined {
				reject = "Item returned"
			} else {
				reject = t.declineReason
			}
		}
		lastUpdate := t.postedAt
		if !clock.Before(t.decideAt) {
			lastUpdate = t.decideAt
		}
		vouchers := []any{}
		if t.voucher != "" {
			vouchers = append(vouchers, t.voucher)
		}
		item := obj{
			{"conversion_item_id", l.id},
			{"sku", rawNum(l.sku)},
			{"category", l.name},
			{"item_value", rawNum(floatText(l.sale))},
			{"item_publisher_commission", rawNum(floatText(l.comm))},
			{"item_status", st},
			{"last_update", f(lastUpdate)},
			{"publisher_self_bill_id", nil},
			{"approved_at", approvedAt},
			{"item_status_id", statusID},
			{"reject_reason", reject},
			{"voucher_codes", vouchers},
			{"meta_data", []any{}},
			{"payable", st == "approved"},
		}
		if payment {
			ps, req := "unpaid", any(nil)
			if st == "approved" && t.paid(clock) {
				ps, req = "paid", f(t.paidAt.Add(-72*time.Hour))
			}
			item = append(item, kv{"payment_status", ps}, kv{"self_bill_request_date", req}, kv{"self_bill_release_date", req})
		}
		items = append(items, item)
	}
	var country any = t.country
	if t.flavor < 4 {
		country = nil
	}
	return obj{
		{"conversion_id", t.id},
		{"campaign_id", campaign},
		{"publisher_id", a.id},
		{"conversion_time", f(t.eventAt)},
		{"creative_type", 0},
		{"creative_id", 0},
		{"specific_creative_id", 0},
		{"currency", t.adv.currency},
		{"publisher_reference", clickref},
		{"advertiser_reference", "adref" + strconv.Itoa(t.flavor)},
		{"conversion_reference", orderRefOr(t, "")},
		{"customer_type", customer},
		{"referer_ip", "2a02:c7e:1c4d::" + strconv.FormatInt(t.num%9999, 16)},
		{"source_referer", t.refDomain},
		{"last_modified", f(t.changedAt(clock, false))},
		{"conversion_type", 1},
		{"country", country},
		{"customer_reference", ""},
		{"ref_device_id", devID},
		{"ref_partnership_model_id", 2},
		{"ref_traffic_source_id", 3},
		{"ref_conversion_metric_id", 2},
		{"ref_user_context_id", 2},
		{"campaign_title", t.adv.name},
		{"publisher_name", t.site.name},
		{"click", obj{
			{"campaign_id", campaign},
			{"publisher_id", a.id},
			{"type", "standard"},
			{"status", "nibbled"},
			{"set_time", f(t.clickAt)},
			{"set_ip", "2a02:c7e:1c4d::" + strconv.FormatInt(t.num%9999, 16)},
			{"last_used", t.eventAt.Unix()},
			{"publisher_reference", clickref},
			{"referer", t.refDomain},
			{"ref_device_id", devID},
			{"ref_device", dev},
			{"clickref", clickref},
		}},
		{"ref_conversion_metric", "Standard"},
		{"ref_device", dev},
		{"ref_partnership_model", "CPA"},
		{"ref_traffic_source", "Affiliate"},
		{"ref_user_context", "Web"},
		{"conversion_value", obj{
			{"conversion_status", partnerizeStatus(t, clock)},
			{"value", rawNum(floatText(v))},
			{"publisher_commission", rawNum(floatText(c))},
		}},
		{"meta_data", meta},
		{"conversion_items", items},
		{"was_disputed", false},
		{"conversion_lag", int64(t.eventAt.Sub(t.clickAt) / time.Second)},
		{"clickref", clickref},
	}
}

// orderRefOr is the order reference, or def when the network has none.
func orderRefOr(t *txn, def string) string {
	if t.orderRefNull {
		return def
	}
	return t.orderRef
}
