package sandbox

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TUNE (HasOffers) affiliate API, conversion report:
//
//	GET /tune/v3/Affiliate_Report.json?Method=getConversions
//
// NetworkId (the network's name, Account.Extra["network_id"]; not secret)
// and api_key are query parameters. fields[] lists the columns to
// return (Stat.*, Offer.name; a default set when absent). The window is
// filters[Stat.date][conditional]=BETWEEN with two
// filters[Stat.date][values][] (yyyy-mm-dd, inclusive days) or EQUAL_TO
// with one, or data_start/data_end; days are in the network's time zone
// (America/New_York here) unless hour_offset shifts them. Data older than
// 25 months (762 days) is refused. limit (default 50, at most 50000) and
// page (from 1) page the rows. The answer is {"request": {...}, "response":
// {"status": 1, "httpStatus": 200, "data": {"page", "current", "count",
// "pageCount", "data": [{"Stat": {...}, "Offer": {...}}]}, "errors": [],
// "errorMessage": null}}: every value is a string, amounts with five
// decimals, dates "YYYY-MM-DD HH:MM:SS" in the network's time zone.
// Stat.conversion_status is approved, pending or rejected. Errors, an
// unknown api_key included, are HTTP 200 with status -1 and
// errors[].publicMessage; the throttle is HTTP 429 in the same envelope.
//
// Not found in TUNE's published material, chosen here: the network time
// zone, five-decimal amounts, the default and maximum limit, Stat.id (not
// Stat.ad_id) as the conversion's unique id, and NetworkId being checked
// as part of the credentials.

const tuneLayout = "2006-01-02 15:04:05"

var tuneZone = mustLoad("America/New_York")

var tuneFields = []string{
	"Stat.id", "Stat.ad_id", "Stat.datetime", "Stat.date", "Stat.session_datetime", "Stat.conversion_status",
	"Stat.payout", "Stat.conversion_sale_amount", "Stat.currency", "Stat.offer_id", "Stat.advertiser_info",
	"Stat.affiliate_info1", "Stat.affiliate_info2", "Stat.affiliate_info3", "Stat.affiliate_info4",
	"Stat.affiliate_info5", "Stat.source", "Stat.ip", "Stat.country_code", "Offer.name",
	// More fields of the Affiliate_Report conversion model.
	"Stat.sale_amount", "Stat.approved_payout", "Stat.goal_id", "Stat.is_adjustment", "Stat.offer_url_id",
	"Goal.name", "OfferUrl.name", "PayoutGroup.name", "Browser.display_name", "ConversionMeta.note",
	"ConversionsMobile.affiliate_click_id", "ConversionsMobile.device_brand", "ConversionsMobile.device_model",
	"ConversionsMobile.device_os", "Country.name",
}

var tuneDefaultFields = []string{"Stat.id", "Stat.ad_id", "Stat.datetime", "Stat.conversion_status", "Stat.payout",
	"Stat.conversion_sale_amount", "Stat.offer_id", "Stat.affiliate_info1", "Offer.name"}

func tuneEmulation() *emulation {
	return &emulation{
		name:     NetworkTune,
		accounts: tuneAccounts,
		serve:    (*Server).serveTune,
		amounts:  decimalAmounts(5),
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: tuneStatus(t, clock), Sale: roundTo(sale, 5).text, Commission: comm.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func tuneAccounts() []*account {
	return []*account{
		{
			network: NetworkTune, id: "1042", currency: "USD", idBase: 9100000000,
			secrets: map[string]string{"api_key": "8d1f3b6a9c2e4f7a0b5d8e1c3f6a9b2d4e7f0a3c6b9d2e5f8a1b4c7d0e3f6a9b"},
			extra:   map[string]string{"network_id": "acmeads"},
			advertisers: []advertiser{
				{id: 210, name: "Mobile Game Installs", rateBP: 0, actionType: "lead"},
				{id: 344, name: "VPN Pro Subscriptions", rateBP: 3500},
				{id: 377, name: "Crème Skincare Trial", rateBP: 2500},
			},
			sites:     []site{{id: "1042", name: "Deals Network"}},
			countries: []string{"US", "US", "GB", "CA", "MX"},
		},
		{
			network: NetworkTune, id: "2208", currency: "EUR", idBase: 9200000000,
			secrets: map[string]string{"api_key": "3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c"},
			extra:   map[string]string{"network_id": "eurolead"},
			advertisers: []advertiser{
				{id: 501, name: "Energieversorger Wechsel", rateBP: 0, actionType: "lead"},
				{id: 502, name: "Möbel Online", rateBP: 900},
			},
			sites:     []site{{id: "2208", name: "Vergleichsportal"}},
			countries: []string{"DE", "AT", "CH"},
		},
	}
}

func tuneStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "approved"
	case phaseDeclined:
		return "rejected"
	}
	return "pending"
}

// tuneEnvelope wraps data or errors in the HasOffers response envelope.
func tuneEnvelope(q url.Values, status int, data any, errMsg string) obj {
	req := obj{
		{"Target", "Affiliate_Report"},
		{"Format", "json"},
		{"Service", "HasOffers"},
		{"Version", "3"},
		{"NetworkId", q.Get("NetworkId")},
		{"Method", q.Get("Method")},
	}
	resp := obj{{"status", 1}, {"httpStatus", status}, {"data", data}, {"errors", []any{}}, {"errorMessage", nil}}
	if errMsg != "" {
		resp = obj{{"status", -1}, {"httpStatus", status}, {"data", ""}, {"errors", []any{obj{{"publicMessage", errMsg}}}}, {"errorMessage", errMsg}}
	}
	return obj{{"request", req}, {"response", resp}}
}

func tuneError(q url.Values, msg string) *response {
	return jsonResp(http.StatusOK, tuneEnvelope(q, http.StatusOK, nil, msg))
}

func (s *Server) serveTune(r *http.Request, rest string) *response {
	q := r.URL.Query()
	if strings.TrimSuffix(rest, "/") != "/v3/Affiliate_Report.json" {
		return jsonResp(http.StatusNotFound, tuneEnvelope(q, http.StatusNotFound, nil, "Not found"))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return jsonResp(http.StatusMethodNotAllowed, tuneEnvelope(q, http.StatusMethodNotAllowed, nil, "Method not allowed"))
	}
	key := q.Get("api_key")
	var a *account
	for _, x := range s.accountsOf(NetworkTune) {
		if key != "" && x.secrets["api_key"] == key && x.extra["network_id"] == q.Get("NetworkId") {
			a = x
		}
	}
	if a == nil {
		return tuneError(q, "Invalid API key or NetworkId")
	}
	if resp := s.throttle(NetworkTune, key, func() *response {
		return jsonResp(http.StatusTooManyRequests, tuneEnvelope(q, http.StatusTooManyRequests, nil, "API usage exceeded rate limit. Configured: 50/10s window"))
	}); resp != nil {
		return resp
	}
	if m := q.Get("Method"); m != "getConversions" {
		return tuneError(q, "Method '"+m+"' is not supported by this report; use getConversions")
	}
	fields := q["fields[]"]
	if len(fields) == 0 {
		fields = tuneDefaultFields
	}
	known := map[string]bool{}
	for _, f := range tuneFields {
		known[f] = true
	}
	for _, f := range fields {
		if !known[f] {
			return tuneError(q, "Invalid field: "+f)
		}
	}
	offset := time.Duration(0)
	if v := q.Get("hour_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -23 || n > 23 {
			return tuneError(q, "hour_offset must be an integer between -23 and 23")
		}
		offset = time.Duration(n) * time.Hour
	}
	day := func(v string) (time.Time, bool) {
		t, err := time.ParseInLocation("2006-01-02", v, tuneZone)
		return t.Add(-offset), err == nil
	}
	var start, end time.Time
	cond := q.Get("filters[Stat.date][conditional]")
	vals := q["filters[Stat.date][values][]"]
	if len(vals) == 0 {
		if v := q.Get("filters[Stat.date][values]"); v != "" {
			vals = []string{v}
		}
	}
	switch {
	case cond == "BETWEEN" && len(vals) == 2:
		s, ok1 := day(vals[0])
		e, ok2 := day(vals[1])
		if !ok1 || !ok2 {
			return tuneError(q, "Invalid date in filters[Stat.date]: use YYYY-MM-DD")
		}
		start, end = s, e.AddDate(0, 0, 1)
	case cond == "EQUAL_TO" && len(vals) == 1:
		s, ok := day(vals[0])
		if !ok {
			return tuneError(q, "Invalid date in filters[Stat.date]: use YYYY-MM-DD")
		}
		start, end = s, s.AddDate(0, 0, 1)
	case cond != "":
		return tuneError(q, "Unsupported filter on Stat.date: "+cond+" with "+strconv.Itoa(len(vals))+" values")
	case q.Get("data_start") != "" && q.Get("data_end") != "":
		s, ok1 := day(q.Get("data_start"))
		e, ok2 := day(q.Get("data_end"))
		if !ok1 || !ok2 {
			return tuneError(q, "Invalid data_start or data_end: use YYYY-MM-DD")
		}
		start, end = s, e.AddDate(0, 0, 1)
	default:
		return tuneError(q, "A date range is required: filters[Stat.date] or data_start and data_end")
	}
	if end.Before(start) {
		return tuneError(q, "The end of the date range is before its start")
	}
	clock := s.Clock()
	if start.Before(clock.AddDate(0, 0, -762)) {
		return tuneError(q, "Date range out of bounds: data is only available for the last 25 months")
	}
	limit, ok := intParam(q, "limit", 50, 1, 50000)
	if !ok {
		return tuneError(q, "limit must be between 1 and 50000")
	}
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return tuneError(q, "page must be a positive integer")
	}
	var statusFilter map[string]bool
	if sv := q["filters[Stat.conversion_status][values][]"]; len(sv) > 0 {
		statusFilter = map[string]bool{}
		for _, v := range sv {
			statusFilter[v] = true
		}
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, start, end) {
		if inWindow(t.eventAt, start, end) && (statusFilter == nil || statusFilter[tuneStatus(t, clock)]) {
			matched = append(matched, t)
		}
	}
	if s.repeatCursor() {
		page = 1
	}
	rows := []any{}
	rowsOf := window(matched, (page-1)*limit, limit)
	for _, t := range rowsOf {
		rows = append(rows, tuneRow(t, a, clock, fields, offset))
	}
	d := obj{
		{"page", page},
		{"current", len(rowsOf)},
		{"count", len(matched)},
		{"pageCount", pages(len(matched), limit)},
		{"data", rows},
		{"dbSource", "branddb"},
	}
	return data("application/json", encodeJSON(tuneEnvelope(q, http.StatusOK, d, "")))
}

func tuneRow(t *txn, a *account, clock time.Time, fields []string, offset time.Duration) obj {
	f := func(x time.Time) string { return x.In(tuneZone).Add(offset).Format(tuneLayout) }
	sale, comm := t.currentAmounts(clock)
	info := func(i int) string {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return ""
	}
	val := func(field string) any {
		switch field {
		case "Stat.id":
			return t.id
		case "Stat.ad_id":
			return hexID(a.id, "ad", t.id)[:30]
		case "Stat.datetime":
			return f(t.eventAt)
		case "Stat.date":
			return f(t.eventAt)[:10]
		case "Stat.session_datetime":
			return f(t.clickAt)
		case "Stat.conversion_status":
			return tuneStatus(t, clock)
		case "Stat.payout":
			return comm.text
		case "Stat.conversion_sale_amount":
			return roundTo(sale, 5).text
		case "Stat.currency":
			return a.currency
		case "Stat.offer_id":
			return strconv.FormatInt(t.adv.id, 10)
		case "Stat.advertiser_info":
			if t.orderRefNull {
				return nil
			}
			return t.orderRef
		case "Stat.affiliate_info1":
			return info(0)
		case "Stat.affiliate_info2":
			return info(1)
		case "Stat.affiliate_info3":
			return info(2)
		case "Stat.affiliate_info4", "Stat.affiliate_info5", "Stat.source":
			return ""
		case "Stat.ip":
			return "198.51.100." + strconv.FormatInt(t.num%250+1, 10)
		case "Stat.country_code":
			return t.country
		case "Offer.name":
			return t.adv.name
		case "Stat.sale_amount":
			return roundTo(sale, 5).text
		case "Stat.approved_payout":
			if tuneStatus(t, clock) == "approved" {
				return comm.text
			}
			return "0.00000"
		case "Stat.goal_id", "Stat.offer_url_id":
			return "0"
		case "Stat.is_adjustment":
			return "0"
		case "Goal.name", "OfferUrl.name", "PayoutGroup.name", "ConversionMeta.note",
			"ConversionsMobile.affiliate_click_id", "ConversionsMobile.device_brand",
			"ConversionsMobile.device_model", "ConversionsMobile.device_os":
			return nil
		case "Browser.display_name":
			return "Chrome"
		case "Country.name":
			return t.country
		}
		return nil
	}
	groups := map[string]obj{}
	var order []string
	seen := map[string]bool{}
	for _, field := range fields {
		model, name, _ := strings.Cut(field, ".")
		if seen[field] {
			continue
		}
		seen[field] = true
		if _, ok := groups[model]; !ok {
			order = append(order, model)
		}
		groups[model] = append(groups[model], kv{name, val(field)})
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i] == "Stat" && order[j] != "Stat" })
	row := obj{}
	for _, m := range order {
		row = append(row, kv{m, groups[m]})
	}
	return row
}
