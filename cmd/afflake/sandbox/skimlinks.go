package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Skimlinks reporting API:
//
//	POST /skimlinks/access_token
//	GET  /skimlinks/publisher/{publisher_id}/commission-report
//
// In reality the token endpoint is another host
// (authentication.skimapis.com); both are served under /skimlinks/ here.
// It takes a JSON (or form) body {"client_id", "client_secret",
// "grant_type": "client_credentials"} and answers {"access_token",
// "timestamp", "expiry_timestamp"}; the token has the form
// "<publisher id>:<timestamp>:<hash>" and lives seven days. The report takes
// the access_token query parameter, start_date and end_date (YYYY-MM-DD for
// whole days, or a date-time: YYYY-MM-DD HH:MM:SS, YYYY-MM-DDTHH:MM:SS or
// ISO-8601 with an offset; UTC; start inclusive, end exclusive)
// or updated_since (commissions whose last_updated is at or after it),
// status=active|cancelled, limit (default 30, at most 5000) and offset. It
// answers {"pagination": {"has_next", "total_count", "offset", "limit"},
// "commissions": [...]}: amounts are JSON numbers in basket.currency, dates
// "YYYY-MM-DD HH:MM:SS" UTC; status is active or cancelled and
// payment_status paid or unpaid. Errors are {"error": {"code", "message"}}.
//
// Not found in Skimlinks' published material, chosen here: the error body,
// the end date being exclusive, the 5000 maximum limit (the published
// definition says 5000, a client library 600), and no maximum date range.

const (
	skimLayout   = "2006-01-02 15:04:05"
	skimMaxLimit = 5000
)

func skimEmulation() *emulation {
	return &emulation{
		name:     NetworkSkimlinks,
		accounts: skimAccounts,
		serve:    (*Server).serveSkim,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
		},
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: skimStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func skimAccounts() []*account {
	return []*account{
		{
			network: NetworkSkimlinks, id: "123456", currency: "GBP", idBase: 1100000000,
			secrets: map[string]string{"client_id": "skim-9f2c7a1e", "client_secret": "Sk1mS3cr3t-4d8b2f6a0c9e"},
			advertisers: []advertiser{
				{id: 8212, groupID: 124, name: "Maplin Electronics Ltd", currency: "GBP", rateBP: 400},
				{id: 10844, groupID: 301, name: "John Lewis & Partners", currency: "GBP", rateBP: 300},
				{id: 15002, groupID: 412, name: "Amazon.de", currency: "EUR", rateBP: 350},
			},
			sites:     []site{{id: "1449012", name: "techreview.example.co.uk", url: "https://techreview.example.co.uk/"}},
			countries: []string{"GB", "GB", "GB", "DE"},
		},
		{
			network: NetworkSkimlinks, id: "230987", currency: "USD", idBase: 1200000000,
			secrets: map[string]string{"client_id": "skim-4b8e0d3f", "client_secret": "Sk1mS3cr3t-7a1c5e9b3d2f"},
			advertisers: []advertiser{
				{id: 44120, groupID: 900, name: "Best Buy", currency: "USD", rateBP: 200},
				{id: 51008, groupID: 915, name: "Crème de la Mer", currency: "USD", rateBP: 800},
			},
			sites:     []site{{id: "1550031", name: "giftguide.example.com", url: "https://giftguide.example.com/"}},
			countries: []string{"US", "US", "CA"},
		},
	}
}

func skimStatus(t *txn, clock time.Time) string {
	if t.phase(clock) == phaseDeclined {
		return "cancelled"
	}
	return "active"
}

func skimError(status int, msg string) *response {
	return jsonResp(status, obj{{"error", obj{{"code", status}, {"message", msg}}}})
}

func (s *Server) serveSkim(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") == "/access_token" {
		return s.skimToken(r)
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 3 || parts[0] != "publisher" || parts[2] != "commission-report" {
		return skimError(http.StatusNotFound, "Not found")
	}
	if r.Method != http.MethodGet {
		return skimError(http.StatusMethodNotAllowed, "Method not allowed")
	}
	q := r.URL.Query()
	tok := q.Get("access_token")
	var a *account
	if i := strings.LastIndexByte(tok, ':'); i > 0 {
		if g := s.lookup(NetworkSkimlinks, "access", tok[i+1:]); g != nil && strings.HasPrefix(tok, g.acct.id+":") {
			a = g.acct
		}
	}
	if a == nil {
		return skimError(http.StatusUnauthorized, "Invalid or expired access_token")
	}
	if parts[1] != a.id {
		return skimError(http.StatusForbidden, "The access_token does not grant access to publisher "+parts[1])
	}
	if resp := s.throttle(NetworkSkimlinks, a.id, func() *response {
		return skimError(http.StatusTooManyRequests, "Too many requests: limited to 40 requests per minute and 300 per hour")
	}); resp != nil {
		return resp
	}
	parse := func(v string, end bool) (time.Time, bool) {
		if t, err := time.ParseInLocation(skimLayout, v, time.UTC); err == nil {
			return t, true
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, time.UTC); err == nil {
			return t, true
		}
		t, err := time.ParseInLocation("2006-01-02", v, time.UTC)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	clock := s.Clock()
	var from, to, since time.Time
	sd, ed, us := q.Get("start_date"), q.Get("end_date"), q.Get("updated_since")
	if us == "" && sd == "" {
		return skimError(http.StatusBadRequest, "start_date or updated_since is required")
	}
	ok := true
	if sd != "" {
		var ok1, ok2 bool
		from, ok1 = parse(sd, false)
		to, ok2 = clock, true
		if ed != "" {
			to, ok2 = parse(ed, true)
		}
		ok = ok1 && ok2
	}
	if us != "" {
		var ok3 bool
		since, ok3 = parse(us, false)
		ok = ok && ok3
	}
	if !ok {
		return skimError(http.StatusBadRequest, "Invalid date: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
	}
	if !from.IsZero() && to.Before(from) {
		return skimError(http.StatusBadRequest, "end_date must not be before start_date")
	}
	limit, ok := intParam(q, "limit", 30, 1, skimMaxLimit)
	if !ok {
		return skimError(http.StatusBadRequest, "limit must be between 1 and 5000")
	}
	offset, ok := intParam(q, "offset", 0, 0, 1<<30)
	if !ok {
		return skimError(http.StatusBadRequest, "offset must be a non-negative integer")
	}
	status := q.Get("status")
	if status != "" && status != "active" && status != "cancelled" {
		return skimError(http.StatusBadRequest, "status must be active or cancelled")
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, from, to) {
		if !from.IsZero() && !inWindow(t.eventAt, from, to) {
			continue
		}
		if !since.IsZero() && t.changedAt(clock, true).Before(since) {
			continue
		}
		if status != "" && skimStatus(t, clock) != status {
			continue
		}
		matched = append(matched, t)
	}
	if q.Get("sort_dir") == "DESC" {
		rev := make([]*txn, len(matched))
		for i, t := range matched {
			rev[len(matched)-1-i] = t
		}
		matched = rev
	}
	if s.repeatCursor() {
		offset = 0
	}
	page := window(matched, offset, limit)
	comms := []any{}
	for _, t := range page {
		comms = append(comms, skimRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(obj{
		{"pagination", obj{{"has_next", offset+len(page) < len(matched)}, {"total_count", len(matched)}, {"offset", offset}, {"limit", limit}}},
		{"commissions", comms},
	}))
}

func (s *Server) skimToken(r *http.Request) *response {
	if r.Method != http.MethodPost {
		return skimError(http.StatusMethodNotAllowed, "Method not allowed")
	}
	var body struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		GrantType    string `json:"grant_type"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		f := readForm(r)
		body.ClientID, body.ClientSecret, body.GrantType = f.Get("client_id"), f.Get("client_secret"), f.Get("grant_type")
	} else if err := readJSON(r, &body); err != nil {
		return skimError(http.StatusBadRequest, "Invalid JSON body")
	}
	if body.GrantType != "client_credentials" {
		return skimError(http.StatusBadRequest, "grant_type must be client_credentials")
	}
	var a *account
	for _, x := range s.accountsOf(NetworkSkimlinks) {
		if body.ClientID != "" && x.secrets["client_id"] == body.ClientID && x.secrets["client_secret"] == body.ClientSecret {
			a = x
		}
	}
	if a == nil {
		return skimError(http.StatusUnauthorized, "Invalid client_id or client_secret")
	}
	const ttl = 7 * 24 * time.Hour
	h := s.issue(NetworkSkimlinks, "access", a, ttl, "")
	now := s.now().Unix()
	return jsonResp(http.StatusOK, obj{
		{"access_token", a.id + ":" + strconv.FormatInt(now, 10) + ":" + h},
		{"timestamp", now},
		{"expiry_timestamp", now + int64(ttl/time.Second)},
	})
}

func skimRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.UTC().Format(skimLayout) }
	sale, comm := t.currentAmounts(clock)
	payment := "unpaid"
	var invoice any
	if t.paid(clock) {
		payment = "paid"
		invoice = "INV-" + t.paidAt.Format("200601") + "-" + a.id
	}
	items := 0
	for _, l := range t.lines {
		items += l.qty
	}
	var custom any
	if len(t.clickRefs) > 0 {
		custom = t.clickRefs[0]
	}
	domainID, _ := strconv.ParseInt(t.site.id, 10, 64)
	pubID, _ := strconv.ParseInt(a.id, 10, 64)
	return obj{
		{"commission_id", t.num},
		{"transaction_details", obj{
			{"aggregation_id", nil},
			{"basket", obj{
				{"items", items},
				{"publisher_amount", rawNum(floatText(comm))},
				{"order_amount", rawNum(floatText(sale))},
				{"currency", t.adv.currency},
				{"commission_type", "CPA"},
			}},
			{"status", skimStatus(t, clock)},
			{"payment_status", payment},
			{"transaction_date", f(t.eventAt)},
			{"last_updated", f(t.changedAt(clock, true))},
			{"invoice_id", invoice},
		}},
		{"merchant_details", obj{
			{"merchant_name", t.adv.name},
			{"merchant_id", t.adv.id},
			{"advertiser_name", t.adv.name},
			{"advertiser_id", t.adv.groupID},
		}},
		{"click_details", obj{
			{"date", f(t.clickAt)},
			{"custom_id", custom},
			{"page_url", t.site.url + "reviews/" + strconv.FormatInt(t.adID, 10)},
			{"user_agent", t.clickDevice},
		}},
		{"publisher_id", pubID},
		{"publisher_domain_id", domainID},
	}
}
