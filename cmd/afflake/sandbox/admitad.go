package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Admitad publisher API:
//
//	POST /admitad/token/
//	GET  /admitad/statistics/actions/
//
// The token endpoint takes HTTP Basic client_id:client_secret and a form
// body grant_type=client_credentials&client_id=…&scope=… (client_id may be
// left out, the Basic credentials name the client; space-separated
// scopes; the actions report needs "statistics") and answers the access
// token with the publisher's identity ({"access_token","token_type",
// "expires_in","refresh_token","scope","username","id",…}). The report takes
// Authorization: Bearer, date_start and date_end as dd.mm.YYYY (inclusive
// days of the action date), or status_updated_start/status_updated_end as
// dd.mm.YYYY HH:MM:SS; status filters; limit (at most 500, default 20) and
// offset. It answers {"results": [...], "_meta": {"count", "limit",
// "offset"}}. Dates are "YYYY-MM-DD HH:MM:SS" in Moscow time (UTC+3), amounts
// JSON numbers in the action's currency (cart is null for leads). status is
// pending, approved, declined or approved_but_stalled (approved, the
// advertiser has not paid yet); paid is 0 or 1. Errors are {"error",
// "error_description", "error_code"}.
//
// Not found in Admitad's published material, chosen here: the time zone of
// the dates, the error body of the report and the error codes, and no
// maximum date range (none is documented).

const admitadLayout = "2006-01-02 15:04:05"

func admitadEmulation() *emulation {
	return &emulation{
		name:     NetworkAdmitad,
		accounts: admitadAccounts,
		serve:    (*Server).serveAdmitad,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: admitadStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func admitadAccounts() []*account {
	msk := mustLoad("Europe/Moscow")
	return []*account{
		{
			network: NetworkAdmitad, id: "758214", currency: "USD", loc: msk, idBase: 500000000,
			secrets: map[string]string{"client_id": "a7Fq2kLm9Xz3", "client_secret": "Vb6Nw1Rt8Yp4Hs0Jc5Gd"},
			advertisers: []advertiser{
				{id: 6115, name: "AliExpress WW", currency: "USD", rateBP: 550, actionType: "sale"},
				{id: 13519, name: "Lamoda Казахстан", currency: "KZT", rateBP: 700, actionType: "sale"},
				{id: 25179, name: "Booking Leads", currency: "USD", rateBP: 0, actionType: "lead"},
			},
			sites:     []site{{id: "1447203", name: "cashback-world.example"}},
			countries: []string{"US", "KZ", "PL", "DE", "BR"},
		},
		{
			network: NetworkAdmitad, id: "903377", currency: "EUR", loc: msk, idBase: 900000000,
			secrets: map[string]string{"client_id": "c3Hd8pQe1Wm6", "client_secret": "Lk4Tz9Fx2Nc7Bv5Rq0Sa"},
			advertisers: []advertiser{
				{id: 17420, name: "Notino Ελλάδα", currency: "EUR", rateBP: 800, actionType: "sale"},
				{id: 20031, name: "Allegro.pl", currency: "PLN", rateBP: 300, actionType: "sale"},
			},
			sites:     []site{{id: "2210584", name: "Promo Codes Europe"}},
			countries: []string{"GR", "PL", "PL", "CZ", "DE"},
		},
	}
}

func admitadError(status int, code, desc string, n int) *response {
	return jsonResp(status, obj{{"error", code}, {"error_description", desc}, {"error_code", n}})
}

func admitadStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "declined"
	case phaseApproved:
		if t.flavor < 8 && clock.Before(t.paidAt) {
			return "approved_but_stalled"
		}
		return "approved"
	}
	return "pending"
}

func (s *Server) serveAdmitad(r *http.Request, rest string) *response {
	switch strings.TrimSuffix(rest, "/") {
	case "/token":
		return s.admitadToken(r)
	case "/statistics/actions":
	default:
		return admitadError(http.StatusNotFound, "not_found", "Not found.", 404)
	}
	if r.Method != http.MethodGet {
		return admitadError(http.StatusMethodNotAllowed, "method_not_allowed", "Method \""+r.Method+"\" not allowed.", 405)
	}
	g := s.bearerGrant(NetworkAdmitad, r)
	if g == nil {
		return admitadError(http.StatusUnauthorized, "invalid_token", "Invalid or expired access token", 1)
	}
	if !strings.Contains(" "+g.scope+" ", " statistics ") {
		return admitadError(http.StatusForbidden, "insufficient_scope", "The access token has no statistics scope", 3)
	}
	a := g.acct
	if resp := s.throttle(NetworkAdmitad, a.id, func() *response {
		return admitadError(http.StatusTooManyRequests, "too_many_requests", "Request was throttled", 19)
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	clock := s.Clock()
	limit, ok := intParam(q, "limit", 20, 1, 500)
	if !ok {
		return admitadError(http.StatusBadRequest, "invalid_request", "limit must be between 1 and 500", 100)
	}
	offset, ok := intParam(q, "offset", 0, 0, 1<<30)
	if !ok {
		return admitadError(http.StatusBadRequest, "invalid_request", "offset must be a non-negative integer", 100)
	}
	var from, to, ufrom, uto time.Time
	dayParam := func(name string, end bool) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		d, err := time.ParseInLocation("02.01.2006", v, a.loc)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, true
	}
	stampParam := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		d, err := time.ParseInLocation("02.01.2006 15:04:05", v, a.loc)
		return d, err == nil
	}
	var ok1, ok2, ok3, ok4 bool
	from, ok1 = dayParam("date_start", false)
	to, ok2 = dayParam("date_end", true)
	ufrom, ok3 = stampParam("status_updated_start")
	uto, ok4 = stampParam("status_updated_end")
	if !ok1 || !ok2 {
		return admitadError(http.StatusBadRequest, "invalid_request", "date_start and date_end must be dd.mm.YYYY", 100)
	}
	if !ok3 || !ok4 {
		return admitadError(http.StatusBadRequest, "invalid_request", "status_updated_start and status_updated_end must be dd.mm.YYYY HH:MM:SS", 100)
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return admitadError(http.StatusBadRequest, "invalid_request", "date_end must not be before date_start", 100)
	}
	status := q.Get("status")
	switch status {
	case "", "pending", "approved", "declined", "approved_but_stalled":
	default:
		return admitadError(http.StatusBadRequest, "invalid_request", "Unknown status '"+status+"'", 100)
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, from, to) {
		if (!from.IsZero() && t.eventAt.Before(from)) || (!to.IsZero() && !t.eventAt.Before(to)) {
			continue
		}
		u := t.changedAt(clock, true)
		if (!ufrom.IsZero() && u.Before(ufrom)) || (!uto.IsZero() && u.After(uto)) {
			continue
		}
		if status != "" && admitadStatus(t, clock) != status {
			continue
		}
		matched = append(matched, t)
	}
	if s.repeatCursor() {
		offset = 0
	}
	results := []any{}
	for _, t := range window(matched, offset, limit) {
		results = append(results, admitadRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(obj{
		{"results", results},
		{"_meta", obj{{"count", len(matched)}, {"limit", limit}, {"offset", offset}}},
	}))
}

func (s *Server) admitadToken(r *http.Request) *response {
	if r.Method != http.MethodPost {
		return admitadError(http.StatusMethodNotAllowed, "method_not_allowed", "Method \""+r.Method+"\" not allowed.", 405)
	}
	id, secret, ok := basicAuth(r)
	var a *account
	for _, x := range s.accountsOf(NetworkAdmitad) {
		if ok && x.secrets["client_id"] == id && x.secrets["client_secret"] == secret {
			a = x
		}
	}
	if a == nil {
		return admitadError(http.StatusUnauthorized, "invalid_client", "Client authentication failed", 2)
	}
	f := readForm(r)
	if f.Get("grant_type") != "client_credentials" {
		return admitadError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type", 4)
	}
	if c := f.Get("client_id"); c != "" && c != id {
		return admitadError(http.StatusBadRequest, "invalid_request", "client_id does not match the authenticated client", 5)
	}
	var scopes []string
	for _, sc := range strings.Fields(f.Get("scope")) {
		switch sc {
		case "statistics", "advcampaigns", "websites", "public_data", "private_data", "coupons":
			scopes = append(scopes, sc)
		default:
			return admitadError(http.StatusBadRequest, "invalid_scope", "Unknown scope "+sc, 6)
		}
	}
	if len(scopes) == 0 {
		return admitadError(http.StatusBadRequest, "invalid_scope", "scope is required", 6)
	}
	scope := strings.Join(scopes, " ")
	access := s.issue(NetworkAdmitad, "access", a, 7*24*time.Hour, scope)
	refresh := s.issue(NetworkAdmitad, "refresh", a, 30*24*time.Hour, scope)
	uid, _ := strconv.ParseInt(a.id, 10, 64)
	return jsonResp(http.StatusOK, obj{
		{"username", "webmaster" + a.id},
		{"first_name", "Анна"},
		{"last_name", "Müller"},
		{"language", "en"},
		{"access_token", access},
		{"token_type", "bearer"},
		{"expires_in", 604800},
		{"refresh_token", refresh},
		{"scope", scope},
		{"id", uid},
		{"group", "webmaster"},
	})
}

func admitadRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(a.loc).Format(admitadLayout) }
	sale, comm := t.currentAmounts(clock)
	status := admitadStatus(t, clock)
	var cart, orderID, closing, promo any
	if t.adv.actionType != "lead" {
		cart = rawNum(floatText(sale))
		if !t.orderRefNull {
			orderID = t.orderRef
		}
	}
	if status != "pending" {
		closing = t.decideAt.In(a.loc).Format("2006-01-02")
	}
	if t.voucher != "" {
		promo = t.voucher
	}
	paid, processed := 0, 0
	if t.paid(clock) && status == "approved" {
		paid = 1
	}
	if status != "pending" {
		processed = 1
	}
	sub := func(i int) string {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return ""
	}
	action := "Оплаченный заказ"
	if t.adv.actionType == "lead" {
		action = "Lead"
	}
	siteID, _ := strconv.ParseInt(t.site.id, 10, 64)
	return obj{
		{"action_id", t.num},
		{"action", action},
		{"action_type", t.adv.actionType},
		{"advcampaign_id", t.adv.id},
		{"advcampaign_name", t.adv.name},
		{"website_id", siteID},
		{"website_name", t.site.name},
		{"click_date", f(t.clickAt)},
		{"action_date", f(t.eventAt)},
		{"status_updated", f(t.changedAt(clock, true))},
		{"closing_date", closing},
		{"conversion_time", int64(t.eventAt.Sub(t.clickAt) / time.Second)},
		{"status", status},
		{"cart", cart},
		{"payment", rawNum(floatText(comm))},
		{"currency", t.adv.currency},
		{"paid", paid},
		{"processed", processed},
		{"order_id", orderID},
		{"promocode", promo},
		{"subid", sub(0)},
		{"subid1", sub(1)},
		{"subid2", sub(2)},
		{"subid3", ""},
		{"subid4", ""},
		{"keyword", nil},
		{"click_user_referer", t.refDomain},
		{"tariff_id", 10000 + t.adv.id%1000},
		{"positions", []any{obj{
			{"tariff_id", 10000 + t.adv.id%1000},
			{"payment", rawNum(floatText(comm))},
			{"amount", cart},
			{"rate", nil},
			{"percentage", t.adv.rateBP != 0},
			{"datetime", f(t.eventAt)},
		}}},
	}
}
