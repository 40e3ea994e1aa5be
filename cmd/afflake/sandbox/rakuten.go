package sandbox

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rakuten Advertising Events API:
//
//	POST /rakuten/token
//	GET  /rakuten/events/1.0/transactions
//
// The token endpoint takes HTTP Basic client_id:client_secret and a form
// body grant_type=password&scope=<SID> (client_credentials is accepted the
// same way; refresh_token&refresh_token=… renews) and answers
// {"token_type":"bearer","refresh_token","access_token","expires_in":3600};
// errors are {"error","error_description"}. The transactions endpoint takes
// Authorization: Bearer, process_date_start/process_date_end and
// transaction_date_start/transaction_date_end ("YYYY-MM-DD HH:mm:ss", GMT,
// both inclusive), limit (default 100, at most 1000) and page (from 1);
// without any date it returns the last 100 events by process date. The
// answer is a top-level array of events, one per SKU line: lines of one
// order share order_id and each has its own etransaction_id. There is no
// status: events are never updated; a cancelled order or returned line
// comes as a new event with negative sale_amount and commissions, processed
// when the return was made. Only events processed in the last
// rakutenRetention are kept. Dates are "EEE MMM DD YYYY HH:mm:ss ZZZZ" in
// GMT (e.g. "Sun Oct 18 2026 00:11:48 GMT+0000"), amounts JSON numbers in
// currency; is_event is "Y" for an unconfirmed
// event (a lead) and "N" for a sale.
//
// Not found in Rakuten's published material, chosen here: the exact
// rendering of the documented date pattern (a client library also parses
// ISO-8601 with an offset), the records being a top-level array (clients
// disagree), a retention of exactly 14 days (the
// documentation says 1-2 weeks), a reversal keeping the order's
// transaction_date, and the maximum limit.

const (
	rakutenLayout    = "Mon Jan 02 2006 15:04:05 GMT-0700"
	rakutenRetention = 14 * 24 * time.Hour
)

func rakutenEmulation() *emulation {
	return &emulation{
		name:     NetworkRakuten,
		accounts: rakutenAccounts,
		serve:    (*Server).serveRakuten,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
		},
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			var out []Truth
			for _, e := range rakutenEvents(t, clock) {
				if e.processAt.Before(clock.Add(-rakutenRetention)) {
					continue // no longer kept
				}
				out = append(out, Truth{ID: e.id, Sale: floatText(e.sale), Commission: floatText(e.comm),
					Currency: t.adv.currency, TransactionAt: t.eventAt})
			}
			return out
		},
	}
}

func rakutenAccounts() []*account {
	return []*account{
		{
			network: NetworkRakuten, id: "3512345", currency: "USD", idBase: 6100000000,
			secrets: map[string]string{"client_id": "rk_client_5f1a9d", "client_secret": "rkS3cr3t_8c2e7b4a1f9d"},
			advertisers: []advertiser{
				{id: 36342, name: "Macy's", currency: "USD", rateBP: 400, groupID: 1001},
				{id: 2149, name: "Sephora", currency: "USD", rateBP: 500, groupID: 1002},
				{id: 43176, name: "Rakuten Kobo", currency: "CAD", rateBP: 600, groupID: 1003},
				{id: 50001, name: "Credit Card Leads", currency: "USD", rateBP: 0, actionType: "lead", groupID: 1004},
			},
			sites:     []site{{id: "3512345", name: "Fashion Finds"}},
			countries: []string{"US", "US", "CA"},
		},
		{
			network: NetworkRakuten, id: "3600778", currency: "GBP", idBase: 6200000000,
			secrets: map[string]string{"client_id": "rk_client_9b3c2e", "client_secret": "rkS3cr3t_0d6f3a8e5b1c"},
			advertisers: []advertiser{
				{id: 24366, name: "Marks & Spencer", currency: "GBP", rateBP: 350, groupID: 2001},
				{id: 35171, name: "Galeries Lafayette", currency: "EUR", rateBP: 450, groupID: 2002},
			},
			sites:     []site{{id: "3600778", name: "British Style Journal"}},
			countries: []string{"GB", "GB", "FR"},
		},
	}
}

// rakutenEvent is one event of the log: a line of an order as processed,
// or its reversal.
type rakutenEvent struct {
	t          *txn
	l          *line
	id         string
	processAt  time.Time
	sale, comm amount
	reversal   bool
}

// rakutenEvents are the events a transaction has produced by clock (before
// any retention).
func rakutenEvents(t *txn, clock time.Time) []rakutenEvent {
	var out []rakutenEvent
	if !t.visible(clock) {
		return nil
	}
	for i := range t.lines {
		l := &t.lines[i]
		out = append(out, rakutenEvent{t: t, l: l, id: hexID(t.acct.id, t.id, strconv.Itoa(i), "sale"),
			processAt: t.postedAt, sale: l.sale, comm: l.comm})
	}
	ph := t.phase(clock)
	for i := range t.lines {
		l := &t.lines[i]
		if ph == phaseDeclined || (ph == phaseApproved && l.declined) {
			out = append(out, rakutenEvent{t: t, l: l, id: hexID(t.acct.id, t.id, strconv.Itoa(i), "return"),
				processAt: t.decideAt.Add(time.Duration(17+i) * time.Minute), sale: l.sale.neg(), comm: l.comm.neg(), reversal: true})
		}
	}
	return out
}

// retained are the events processed within the retention window at clock,
// ordered by process date.
func (s *Server) rakutenRetained(a *account, clock time.Time) []rakutenEvent {
	cut := clock.Add(-rakutenRetention)
	var out []rakutenEvent
	for _, t := range s.visible(a, clock, time.Time{}, time.Time{}) {
		for _, e := range rakutenEvents(t, clock) {
			if !e.processAt.Before(cut) && !e.processAt.After(clock) {
				out = append(out, e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].processAt.Equal(out[j].processAt) {
			return out[i].processAt.Before(out[j].processAt)
		}
		return out[i].id < out[j].id
	})
	return out
}

func (s *Server) serveRakuten(r *http.Request, rest string) *response {
	switch strings.TrimSuffix(rest, "/") {
	case "/token":
		return s.rakutenToken(r)
	case "/events/1.0/transactions":
	default:
		return oauthError(http.StatusNotFound, "not_found", "No resource found for "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return oauthError(http.StatusMethodNotAllowed, "method_not_allowed", "Method "+r.Method+" not allowed")
	}
	g := s.bearerGrant(NetworkRakuten, r)
	if g == nil {
		return oauthError(http.StatusUnauthorized, "invalid_token", "Invalid or expired access token")
	}
	a := g.acct
	if resp := s.throttle(NetworkRakuten, a.id, func() *response {
		return oauthError(http.StatusTooManyRequests, "too_many_requests", "Request limit exceeded, try again later")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	stamp := func(name string, end bool) (time.Time, bool, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, false, true
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", v, time.UTC)
		if err != nil {
			d, err2 := time.ParseInLocation("2006-01-02", v, time.UTC)
			if err2 != nil {
				return time.Time{}, true, false
			}
			t = d
			if end {
				t = d.Add(24*time.Hour - time.Second)
			}
		}
		return t, true, true
	}
	ps, hasPS, ok1 := stamp("process_date_start", false)
	pe, hasPE, ok2 := stamp("process_date_end", true)
	ts, hasTS, ok3 := stamp("transaction_date_start", false)
	te, hasTE, ok4 := stamp("transaction_date_end", true)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return oauthError(http.StatusBadRequest, "invalid_request", "Dates must be YYYY-MM-DD HH:mm:ss")
	}
	if (hasPS && hasPE && pe.Before(ps)) || (hasTS && hasTE && te.Before(ts)) {
		return oauthError(http.StatusBadRequest, "invalid_request", "The end date must not be before the start date")
	}
	limit, ok := intParam(q, "limit", 100, 1, 1000)
	if !ok {
		return oauthError(http.StatusBadRequest, "invalid_request", "limit must be between 1 and 1000")
	}
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return oauthError(http.StatusBadRequest, "invalid_request", "page must be a positive number")
	}
	if typ := q.Get("type"); typ != "" && typ != "realtime" && typ != "batch" {
		return oauthError(http.StatusBadRequest, "invalid_request", "type must be realtime or batch")
	}
	clock := s.Clock()
	events := s.rakutenRetained(a, clock)
	if !hasPS && !hasPE && !hasTS && !hasTE {
		// the last 100 events by process date, most recent first
		n := min(100, len(events))
		last := make([]rakutenEvent, 0, n)
		for i := len(events) - 1; i >= len(events)-n; i-- {
			last = append(last, events[i])
		}
		events, page, limit = last, 1, 100
	}
	var matched []rakutenEvent
	for _, e := range events {
		if (hasPS && e.processAt.Before(ps)) || (hasPE && e.processAt.After(pe)) ||
			(hasTS && e.t.eventAt.Before(ts)) || (hasTE && e.t.eventAt.After(te)) {
			continue
		}
		if c := q.Get("currency"); c != "" && c != e.t.adv.currency {
			continue
		}
		matched = append(matched, e)
	}
	if s.repeatCursor() {
		page = 1
	}
	recs := []any{}
	for _, e := range window(matched, (page-1)*limit, limit) {
		recs = append(recs, rakutenRecord(e, a))
	}
	return data("application/json", encodeJSON(recs))
}

func (s *Server) rakutenToken(r *http.Request) *response {
	if r.Method != http.MethodPost {
		return oauthError(http.StatusMethodNotAllowed, "method_not_allowed", "Method "+r.Method+" not allowed")
	}
	id, secret, ok := basicAuth(r)
	var client *account
	for _, x := range s.accountsOf(NetworkRakuten) {
		if ok && x.secrets["client_id"] == id && x.secrets["client_secret"] == secret {
			client = x
		}
	}
	if client == nil {
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
	}
	f := readForm(r)
	switch f.Get("grant_type") {
	case "password", "client_credentials":
		if f.Get("scope") == "" {
			return oauthError(http.StatusBadRequest, "invalid_scope", "scope must be the publisher SID")
		}
		if f.Get("scope") != client.id {
			return oauthError(http.StatusBadRequest, "invalid_scope", "The SID "+f.Get("scope")+" does not belong to this client")
		}
	case "refresh_token":
		g := s.lookup(NetworkRakuten, "refresh", f.Get("refresh_token"))
		if g == nil || g.acct != client {
			return oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
		}
		s.revoke("refresh", f.Get("refresh_token"))
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type")
	}
	access := s.issue(NetworkRakuten, "access", client, time.Hour, client.id)
	refresh := s.issue(NetworkRakuten, "refresh", client, 30*24*time.Hour, client.id)
	return jsonResp(http.StatusOK, obj{
		{"token_type", "bearer"},
		{"refresh_token", refresh},
		{"access_token", access},
		{"expires_in", 3600},
	})
}

func rakutenRecord(e rakutenEvent, a *account) obj {
	t := e.t
	f := func(x time.Time) string { return x.UTC().Format(rakutenLayout) }
	sid, _ := strconv.ParseInt(a.id, 10, 64)
	isEvent := "N"
	if t.adv.actionType == "lead" {
		isEvent = "Y"
	}
	var u1 any
	if len(t.clickRefs) > 0 {
		u1 = t.clickRefs[0]
	}
	qty := e.l.qty
	if e.reversal {
		qty = -qty
	}
	return obj{
		{"etransaction_id", e.id},
		{"advertiser_id", t.adv.id},
		{"sid", sid},
		{"order_id", orderRefOr(t, "")},
		{"offer_id", strconv.FormatInt(t.adv.groupID*1000+t.adv.id%1000, 10)},
		{"sku_number", e.l.sku},
		{"sale_amount", rawNum(floatText(e.sale))},
		{"quantity", qty},
		{"commissions", rawNum(floatText(e.comm))},
		{"process_date", f(e.processAt)},
		{"transaction_date", f(t.eventAt)},
		{"transaction_type", "realtime"},
		{"product_name", e.l.name},
		{"u1", u1},
		{"currency", t.adv.currency},
		{"is_event", isEvent},
	}
}
