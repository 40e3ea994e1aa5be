package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Daisycon publisher API:
//
//	POST /daisycon/oauth/access-token
//	GET  /daisycon/publishers/{publisher_id}/transactions
//
// Daisycon authorises with OAuth 2.1 (authorization code with PKCE, done
// once by a person); a connector then lives on refresh tokens. The token
// endpoint (in reality https://login.daisycon.com/oauth/access-token, served
// here under /daisycon/) takes a form body grant_type=refresh_token,
// client_id, refresh_token and, for a confidential client, client_secret,
// and answers {"token_type": "Bearer", "expires_in": 1800, "access_token",
// "refresh_token"}. Refresh tokens rotate: each refresh returns a new one
// and invalidates the one used, so a reused token gets invalid_grant.
// Server.Accounts reports the currently valid refresh token.
//
// The transactions endpoint takes Authorization: Bearer, start and end
// ("Y-m-d H:i:s" in Amsterdam time, both inclusive; the transaction date),
// page (from 1) and per_page (default 100, at most 1000). The answer is a
// top-level array of transactions with the total in the X-Total-Count
// header; each transaction has parts[], which carry the status, amounts and
// sub ids. Dates are "Y-m-d H:i:s" in Amsterdam time, amounts JSON numbers
// in currency_code. A part's status is open, pending, potential (an
// unconfirmed lead), approved, disapproved or incasso (approved, in
// collection from the advertiser). Errors are {"error": {"code", "message"}}.
//
// Not found in Daisycon's published material, chosen here: the token path
// and body, the error body, the X-Total-Count header, the default page
// size, the inclusive end, and what separates open from pending (open for
// the first three days).

const daisyconLayout = "2006-01-02 15:04:05"

var daisyconZone = mustLoad("Europe/Amsterdam")

func daisyconEmulation() *emulation {
	return &emulation{
		name:     NetworkDaisycon,
		accounts: daisyconAccounts,
		serve:    (*Server).serveDaisycon,
		setup:    (*Server).daisyconIssueInitial,
		amounts:  floatAmounts,
		ids: func(t *txn, day int64, i int) {
			t.num = t.acct.idBase + day*1000 + int64(i)
			t.id = strings.ToUpper(hexID(t.acct.id, "transaction", strconv.FormatInt(t.num, 10))[:14])
		},
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
			for i := range t.lines {
				t.lines[i].id = strings.ToUpper(hexID(t.id, "part", strconv.Itoa(i))[:12])
			}
		},
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			var out []Truth
			for i := range t.lines {
				l := &t.lines[i]
				out = append(out, Truth{ID: l.id, Status: daisyconStatus(t, l, clock), Sale: floatText(l.sale), Commission: floatText(l.comm),
					Currency: t.adv.currency, TransactionAt: t.eventAt})
			}
			return out
		},
	}
}

func daisyconAccounts() []*account {
	return []*account{
		{
			network: NetworkDaisycon, id: "368125", currency: "EUR", loc: daisyconZone, idBase: 8100000000,
			secrets: map[string]string{"client_id": "dc-3f8a1e7c-5b2d", "client_secret": "DcS3cr3t-9e4a7c1f"},
			advertisers: []advertiser{
				{id: 10421, name: "Bol.com", currency: "EUR", rateBP: 500},
				{id: 11702, name: "Energie Vergelijker", currency: "EUR", rateBP: 0, actionType: "lead"},
				{id: 12099, name: "Coolblue België", currency: "EUR", rateBP: 300},
			},
			sites:     []site{{id: "412008", name: "Bespaarblog"}},
			countries: []string{"NL", "NL", "BE", "DE"},
		},
		{
			network: NetworkDaisycon, id: "402277", currency: "EUR", loc: daisyconZone, idBase: 8200000000,
			secrets: map[string]string{"client_id": "dc-7c2e9b4a-1d6f", "client_secret": "DcS3cr3t-0b5d8e2a"},
			advertisers: []advertiser{
				{id: 13550, name: "Wehkamp", currency: "EUR", rateBP: 600},
				{id: 13877, name: "Hôtels Zélande", currency: "EUR", rateBP: 900},
			},
			sites:     []site{{id: "455120", name: "Reisdeals"}},
			countries: []string{"NL", "BE"},
		},
	}
}

// daisyconIssueInitial gives every Daisycon account the refresh token a
// person would have obtained through the authorization flow.
func (s *Server) daisyconIssueInitial() {
	for _, a := range s.accountsOf(NetworkDaisycon) {
		tok := s.issue(NetworkDaisycon, "refresh", a, 90*24*time.Hour, "")
		s.mu.Lock()
		a.secrets["refresh_token"] = tok
		s.mu.Unlock()
	}
}

func daisyconStatus(t *txn, l *line, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "disapproved"
	case phaseApproved:
		if l.declined {
			return "disapproved"
		}
		if t.flavor >= 10 && t.flavor < 16 && clock.Before(t.paidAt) {
			return "incasso"
		}
		return "approved"
	}
	if t.flavor < 10 {
		return "potential"
	}
	if clock.Before(t.eventAt.Add(3 * 24 * time.Hour)) {
		return "open"
	}
	return "pending"
}

func daisyconError(status int, msg string) *response {
	return jsonResp(status, obj{{"error", obj{{"code", status}, {"message", msg}}}})
}

func (s *Server) serveDaisycon(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") == "/oauth/access-token" {
		return s.daisyconToken(r)
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 3 || parts[0] != "publishers" || parts[2] != "transactions" {
		return daisyconError(http.StatusNotFound, "Resource not found")
	}
	if r.Method != http.MethodGet {
		return daisyconError(http.StatusMethodNotAllowed, "Method not allowed")
	}
	g := s.bearerGrant(NetworkDaisycon, r)
	if g == nil {
		return daisyconError(http.StatusUnauthorized, "Unauthorized: invalid or expired access token")
	}
	a := g.acct
	if parts[1] != a.id {
		return daisyconError(http.StatusForbidden, "No access to publisher "+parts[1])
	}
	if resp := s.throttle(NetworkDaisycon, a.id, func() *response {
		return daisyconError(http.StatusTooManyRequests, "Too many requests")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	stamp := func(name string, end bool) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		if t, err := time.ParseInLocation(daisyconLayout, v, daisyconZone); err == nil {
			return t, true
		}
		d, err := time.ParseInLocation("2006-01-02", v, daisyconZone)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			d = d.AddDate(0, 0, 1).Add(-time.Second)
		}
		return d, true
	}
	start, ok1 := stamp("start", false)
	end, ok2 := stamp("end", true)
	if !ok1 || !ok2 {
		return daisyconError(http.StatusBadRequest, "start and end must be formatted Y-m-d H:i:s")
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return daisyconError(http.StatusBadRequest, "end must not be before start")
	}
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return daisyconError(http.StatusBadRequest, "page must be a positive integer")
	}
	per, ok := intParam(q, "per_page", 100, 1, 1000)
	if !ok {
		return daisyconError(http.StatusBadRequest, "per_page must be between 1 and 1000")
	}
	clock := s.Clock()
	var to time.Time
	if !end.IsZero() {
		to = end.Add(time.Second)
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, start, to) {
		if (!start.IsZero() && t.eventAt.Before(start)) || (!end.IsZero() && t.eventAt.After(end)) {
			continue
		}
		matched = append(matched, t)
	}
	if s.repeatCursor() {
		page = 1
	}
	recs := []any{}
	for _, t := range window(matched, (page-1)*per, per) {
		recs = append(recs, daisyconRecord(t, clock))
	}
	resp := data("application/json", encodeJSON(recs))
	resp.header = map[string]string{"X-Total-Count": strconv.Itoa(len(matched))}
	return resp
}

func (s *Server) daisyconToken(r *http.Request) *response {
	if r.Method != http.MethodPost {
		return oauthError(http.StatusMethodNotAllowed, "invalid_request", "Method not allowed")
	}
	f := readForm(r)
	var client *account
	for _, x := range s.accountsOf(NetworkDaisycon) {
		if f.Get("client_id") != "" && x.secrets["client_id"] == f.Get("client_id") {
			client = x
		}
	}
	if client == nil || (f.Get("client_secret") != "" && f.Get("client_secret") != client.secrets["client_secret"]) {
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
	}
	switch f.Get("grant_type") {
	case "refresh_token":
	case "authorization_code":
		return oauthError(http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or expired")
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
	old := f.Get("refresh_token")
	g := s.lookup(NetworkDaisycon, "refresh", old)
	if g == nil || g.acct != client {
		return oauthError(http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.")
	}
	s.revoke("refresh", old)
	access := s.issue(NetworkDaisycon, "access", client, 30*time.Minute, "")
	refresh := s.issue(NetworkDaisycon, "refresh", client, 90*24*time.Hour, "")
	s.mu.Lock()
	client.secrets["refresh_token"] = refresh
	s.mu.Unlock()
	return jsonResp(http.StatusOK, obj{
		{"token_type", "Bearer"},
		{"expires_in", 1800},
		{"access_token", access},
		{"refresh_token", refresh},
	})
}

func daisyconRecord(t *txn, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(daisyconZone).Format(daisyconLayout) }
	sub := func(i int) any {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return nil
	}
	mediaID, _ := strconv.ParseInt(t.site.id, 10, 64)
	parts := []any{}
	for i := range t.lines {
		l := &t.lines[i]
		st := daisyconStatus(t, l, clock)
		var approval, reason any
		switch st {
		case "approved", "incasso":
			approval = f(t.decideAt)
		case "disapproved":
			approval = f(t.decideAt)
			reason = t.declineReason
			if l.declined {
				reason = "Product geretourneerd"
			}
		}
		modified := t.postedAt
		if st != "open" && st != "pending" && st != "potential" {
			modified = t.decideAt
		}
		parts = append(parts, obj{
			{"id", l.id},
			{"subid", sub(0)},
			{"subid_2", sub(1)},
			{"subid_3", sub(2)},
			{"status", st},
			{"date", f(t.eventAt)},
			{"date_click", f(t.clickAt)},
			{"last_modified", f(modified)},
			{"approval_date", approval},
			{"disapproved_reason", reason},
			{"revenue", rawNum(floatText(l.sale))},
			{"commission", rawNum(floatText(l.comm))},
			{"currency_code", t.adv.currency},
			{"product_name", l.name},
			{"media_id", mediaID},
			{"media_name", t.site.name},
		})
	}
	return obj{
		{"id", t.id},
		{"affiliatemarketing_id", "am-" + strconv.FormatInt(t.num, 36)},
		{"program_id", t.adv.id},
		{"program_name", t.adv.name},
		{"date", f(t.eventAt)},
		{"date_click", f(t.clickAt)},
		{"referencenumber", nilIfEmpty(orderRefOr(t, ""))},
		{"country_code", t.country},
		{"device_type", strings.ToLower(cjDevice(t.txDevice))},
		{"parts", parts},
	}
}
