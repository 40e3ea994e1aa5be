package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tradedoubler publisher API:
//
//	POST /tradedoubler/uaa/oauth/token
//	GET  /tradedoubler/publisher/report/transactions
//
// The token endpoint takes HTTP Basic client_id:client_secret and a form
// body grant_type=password&username=…&password=… (or
// grant_type=refresh_token&refresh_token=…) and answers {"access_token",
// "token_type":"bearer","refresh_token","expires_in","scope"}; errors are
// RFC 6749 {"error","error_description"}. The report takes Authorization:
// Bearer, fromDate and toDate as YYYYMMDD (inclusive days in the account's
// time zone, Europe/Stockholm, at most 31 days), limit (at most 100) and
// offset, and answers {"total", "reportCurrencyCode", "items": [...]}.
// Times are ISO-8601 with milliseconds and the account's UTC offset,
// amounts JSON numbers in reportCurrencyCode; status is A (approved),
// P (pending) or D (denied). Validation errors are [{"code","message"}].
//
// Not found in Tradedoubler's published material, chosen here: the date
// format of the time fields, the validation error codes, the transactionId
// field being a string, and reportCurrencyCode accepting only the
// account's own currency (the real API converts).

const (
	tradedoublerLayout   = "2006-01-02T15:04:05.000-07:00"
	tradedoublerMaxLimit = 100
	tradedoublerMaxDays  = 31
)

func tradedoublerEmulation() *emulation {
	return &emulation{
		name:     NetworkTradedoubler,
		accounts: tradedoublerAccounts,
		serve:    (*Server).serveTradedoubler,
		amounts:  floatAmounts,
		ids: func(t *txn, day int64, i int) {
			t.num = t.acct.idBase + day*10000 + int64(i)
			t.id = strconv.FormatInt(t.num, 10)
		},
		extra: drawFlavor,
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: tradedoublerStatus(t, clock), Sale: floatText(sale), Commission: floatText(comm),
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func tradedoublerAccounts() []*account {
	sto := mustLoad("Europe/Stockholm")
	return []*account{
		{
			network: NetworkTradedoubler, id: "1794532", currency: "EUR", loc: sto, idBase: 4000000000,
			secrets: map[string]string{
				"client_id": "td-client-7f3a9c", "client_secret": "Tq8vX2mL5nR9wK4z",
				"username": "td-api-user-9Qx2", "password": "Pässwörd-1794532",
			},
			advertisers: []advertiser{
				{id: 283746, name: "Nordic Outdoor AB", rateBP: 600, actionType: "sale"},
				{id: 250116, name: "Hôtel & Spa Réservations", rateBP: 450, actionType: "sale"},
				{id: 301220, name: "Insurance Leads Sverige", rateBP: 0, actionType: "lead"},
			},
			sites:     []site{{id: "3051277", name: "Deal Hunters EU"}},
			countries: []string{"SE", "SE", "DE", "FR", "NL"},
		},
		{
			network: NetworkTradedoubler, id: "2280116", currency: "SEK", loc: sto, idBase: 4500000000,
			secrets: map[string]string{
				"client_id": "td-client-2b61e0", "client_secret": "Hc3Pz7Ws1Yk6Df9q",
				"username": "td-api-user-4Lm7", "password": "Lösenord!2280116",
			},
			advertisers: []advertiser{
				{id: 198552, name: "Åhléns", rateBP: 500, actionType: "sale"},
				{id: 276001, name: "Elgiganten", rateBP: 200, actionType: "sale"},
			},
			sites:     []site{{id: "3188420", name: "Svenska Rabatter"}},
			countries: []string{"SE", "SE", "SE", "NO", "FI"},
		},
	}
}

func tradedoublerStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "A"
	case phaseDeclined:
		return "D"
	}
	return "P"
}

func tradedoublerError(status, code int, msg string) *response {
	return jsonResp(status, []any{obj{{"code", code}, {"message", msg}}})
}

func (s *Server) serveTradedoubler(r *http.Request, rest string) *response {
	switch strings.TrimSuffix(rest, "/") {
	case "/uaa/oauth/token":
		return s.tradedoublerToken(r)
	case "/publisher/report/transactions":
	default:
		return tradedoublerError(http.StatusNotFound, 4040, "No resource found for "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return tradedoublerError(http.StatusMethodNotAllowed, 4050, "Request method '"+r.Method+"' not supported")
	}
	tok := bearer(r)
	g := s.bearerGrant(NetworkTradedoubler, r)
	if g == nil {
		if tok == "" {
			return oauthError(http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource")
		}
		return oauthError(http.StatusUnauthorized, "invalid_token", "Invalid access token")
	}
	a := g.acct
	if resp := s.throttle(NetworkTradedoubler, a.id, func() *response {
		return tradedoublerError(http.StatusTooManyRequests, 4290, "Rate limit exceeded: 60 requests per minute")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	fd, td := q.Get("fromDate"), q.Get("toDate")
	if fd == "" || td == "" {
		return tradedoublerError(http.StatusBadRequest, 4001, "fromDate and toDate are required")
	}
	from, err1 := time.ParseInLocation("20060102", fd, a.loc)
	to, err2 := time.ParseInLocation("20060102", td, a.loc)
	if err1 != nil || err2 != nil {
		return tradedoublerError(http.StatusBadRequest, 4002, "Invalid date: fromDate and toDate must be yyyyMMdd")
	}
	if to.Before(from) {
		return tradedoublerError(http.StatusBadRequest, 4003, "toDate must not be before fromDate")
	}
	end := to.AddDate(0, 0, 1)
	if from.AddDate(0, 0, tradedoublerMaxDays).Before(end) {
		return tradedoublerError(http.StatusBadRequest, 4004, "The period between fromDate and toDate must not exceed 31 days")
	}
	limit, ok := intParam(q, "limit", tradedoublerMaxLimit, 1, tradedoublerMaxLimit)
	if !ok {
		return tradedoublerError(http.StatusBadRequest, 4005, "limit must be between 1 and 100")
	}
	offset, ok := intParam(q, "offset", 0, 0, 1<<30)
	if !ok {
		return tradedoublerError(http.StatusBadRequest, 4006, "offset must be a non-negative number")
	}
	if c := q.Get("reportCurrencyCode"); c != "" && c != a.currency {
		return tradedoublerError(http.StatusBadRequest, 4007, "reportCurrencyCode "+c+" is not available for this account")
	}
	clock := s.Clock()
	var matched []*txn
	for _, t := range s.visible(a, clock, from, end) {
		if inWindow(t.eventAt, from, end) {
			matched = append(matched, t)
		}
	}
	if s.repeatCursor() {
		offset = 0
	}
	items := []any{}
	for _, t := range window(matched, offset, limit) {
		items = append(items, tradedoublerRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(obj{
		{"total", len(matched)},
		{"reportCurrencyCode", a.currency},
		{"items", items},
	}))
}

func (s *Server) tradedoublerToken(r *http.Request) *response {
	if r.Method != http.MethodPost {
		return oauthError(http.StatusMethodNotAllowed, "method_not_allowed", "Request method '"+r.Method+"' not supported")
	}
	id, secret, ok := basicAuth(r)
	var client *account
	for _, a := range s.accountsOf(NetworkTradedoubler) {
		if ok && a.secrets["client_id"] == id && a.secrets["client_secret"] == secret {
			client = a
		}
	}
	if client == nil {
		return oauthError(http.StatusUnauthorized, "unauthorized", "Bad client credentials")
	}
	f := readForm(r)
	var a *account
	switch f.Get("grant_type") {
	case "password":
		if client.secrets["username"] != f.Get("username") || client.secrets["password"] != f.Get("password") {
			return oauthError(http.StatusBadRequest, "invalid_grant", "Bad credentials")
		}
		a = client
	case "refresh_token":
		g := s.lookup(NetworkTradedoubler, "refresh", f.Get("refresh_token"))
		if g == nil || g.acct != client {
			return oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
		}
		a = client
	case "":
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing grant type")
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+f.Get("grant_type"))
	}
	access := s.issue(NetworkTradedoubler, "access", a, 12*time.Hour, "read write")
	refresh := s.issue(NetworkTradedoubler, "refresh", a, 30*24*time.Hour, "read write")
	return jsonResp(http.StatusOK, obj{
		{"access_token", access},
		{"token_type", "bearer"},
		{"refresh_token", refresh},
		{"expires_in", 43199},
		{"scope", "read write"},
	})
}

func tradedoublerRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(a.loc).Format(tradedoublerLayout) }
	sale, comm := t.currentAmounts(clock)
	status := tradedoublerStatus(t, clock)
	lead := t.adv.actionType == "lead"
	var orderNumber, leadNumber, reason any
	eventType, eventName := 5, "Sale"
	if lead {
		leadNumber, eventType, eventName = "L-"+t.id, 4, "Lead"
	} else {
		orderNumber = orderRefOr(t, "")
		if orderNumber == "" {
			orderNumber = nil
		}
	}
	if status == "D" {
		reason = t.declineReason
	}
	rec := obj{
		{"transactionId", t.id},
		{"eventId", int64(90000) + t.adv.id%1000},
		{"eventTypeId", eventType},
		{"eventName", eventName},
		{"programId", t.adv.id},
		{"programName", t.adv.name},
		{"sourceId", t.site.id},
		{"sourceName", t.site.name},
		{"timeOfTransaction", f(t.eventAt)},
		{"timeOfLastClick", f(t.clickAt)},
		{"timeOfLastModified", f(t.changedAt(clock, false))},
		{"orderNumber", orderNumber},
		{"leadNumber", leadNumber},
		{"orderValue", rawNum(floatText(sale))},
		{"commission", rawNum(floatText(comm))},
		{"status", status},
		{"reasonName", reason},
		{"deviceType", t.txDevice},
	}
	// epi is only present when the click carried one
	if len(t.clickRefs) > 0 {
		rec = append(rec, kv{"epi", t.clickRefs[0]})
		if len(t.clickRefs) > 1 {
			rec = append(rec, kv{"epi2", t.clickRefs[1]})
		}
	}
	return rec
}
