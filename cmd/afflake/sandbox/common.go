package sandbox

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Helpers shared by the emulations: issued tokens, throttling, paging and
// request parsing.

// grant is an issued credential: an OAuth access or refresh token, or a
// SOAP session id. Expiry runs on the wall clock, not the emulated one, so
// that moving the emulated clock never invalidates a client's cached token.
type grant struct {
	network string
	kind    string // "access", "refresh" or "session"
	acct    *account
	scope   string
	expires time.Time
}

// issue creates a credential of kind for the account, valid ttl of wall
// time. Tokens are derived from the seed and a counter, never random.
func (s *Server) issue(nw, kind string, a *account, ttl time.Duration, scope string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	n := strconv.Itoa(s.issued)
	var b [16]byte
	h1 := seedFor(s.seed, nw, kind, a.id, n)
	h2 := seedFor(s.seed, n, a.id, kind, nw)
	for i := range 8 {
		b[i] = byte(h1 >> (8 * i))
		b[8+i] = byte(h2 >> (8 * i))
	}
	tok := hex.EncodeToString(b[:])
	s.tokens[kind+"\x00"+tok] = &grant{network: nw, kind: kind, acct: a, scope: scope, expires: s.now().Add(ttl)}
	return tok
}

// lookup returns the live credential tok of kind issued by network nw.
func (s *Server) lookup(nw, kind, tok string) *grant {
	if tok == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.tokens[kind+"\x00"+tok]
	if g == nil || g.network != nw || !s.now().Before(g.expires) {
		return nil
	}
	return g
}

// revoke invalidates a credential.
func (s *Server) revoke(kind, tok string) {
	s.mu.Lock()
	delete(s.tokens, kind+"\x00"+tok)
	s.mu.Unlock()
}

// throttle applies the per-credential rate limit: nil when the request may
// proceed, otherwise the network's own error response with Retry-After.
func (s *Server) throttle(nw, cred string, limited func() *response) *response {
	wait := s.admit(nw, cred)
	if wait == 0 {
		return nil
	}
	r := limited()
	if r.header == nil {
		r.header = map[string]string{}
	}
	r.header["Retry-After"] = strconv.Itoa(wait)
	return r
}

// repeatCursor reports whether the RepeatCursor fault is on.
func (s *Server) repeatCursor() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.RepeatCursor
}

// accountsOf returns the network's accounts.
func (s *Server) accountsOf(nw string) []*account {
	var out []*account
	for _, a := range s.accounts {
		if a.network == nw {
			out = append(out, a)
		}
	}
	return out
}

// data wraps a successful data response (subject to the body faults).
func data(ctype string, body []byte) *response {
	return &response{status: http.StatusOK, ctype: ctype, body: body, data: true}
}

// window returns items[offset:offset+limit], clamped.
func window[T any](items []T, offset, limit int) []T {
	if offset >= len(items) || offset < 0 {
		return nil
	}
	return items[offset:min(offset+limit, len(items))]
}

// pages is the number of pages of size n holding total items (at least 1).
func pages(total, n int) int {
	return max(1, (total+n-1)/n)
}

// intParam parses an optional integer query parameter within [lo, hi];
// def when absent. ok is false when present but invalid.
func intParam(q url.Values, name string, def, lo, hi int) (int, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// basicAuth decodes an Authorization: Basic header.
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "Basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// readForm parses an application/x-www-form-urlencoded body.
func readForm(r *http.Request) url.Values {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return url.Values{}
	}
	v, err := url.ParseQuery(string(raw))
	if err != nil {
		return url.Values{}
	}
	return v
}

// readJSON decodes a JSON request body into v, numbers kept as text.
func readJSON(r *http.Request, v any) error {
	d := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	d.UseNumber()
	return d.Decode(v)
}

// changedAt is when the network last changed the record, at clock: posting,
// the validation decision and, when the record reports payment, payment.
func (t *txn) changedAt(clock time.Time, withPayment bool) time.Time {
	at := t.postedAt
	if !clock.Before(t.decideAt) {
		at = t.decideAt
	}
	if withPayment && t.paid(clock) {
		at = t.paidAt
	}
	return at
}

// inWindow reports whether x lies in [from, to).
func inWindow(x, from, to time.Time) bool { return !x.Before(from) && x.Before(to) }

// drawFlavor draws the selector of rare raw statuses and value shapes.
func drawFlavor(r *rng, t *txn) { t.flavor = r.intn(100) }

// sequentialIDs numbers an account's transactions from its idBase, a
// thousand a day, and uses the number as the id.
func sequentialIDs(t *txn, day int64, i int) {
	t.num = t.acct.idBase + day*1000 + int64(i)
	t.id = strconv.FormatInt(t.num, 10)
}

// splitLines draws the basket lines of a transaction: one to three lines
// whose amounts add up to the transaction's; an amended transaction gets a
// last line that is returned (declined) when the amendment happens.
func splitLines(r *rng, t *txn, prefix string) {
	if t.adjusted {
		keep := t.newSale
		back := diff(t.sale, t.newSale)
		t.lines = []line{
			{sale: keep, comm: t.newComm, qty: 1},
			{sale: back, comm: diff(t.comm, t.newComm), qty: 1, declined: true},
		}
	} else {
		n := 1
		if !t.special && t.sale.units > 300 && r.chance(35) {
			n = r.between(2, 3)
		}
		if n == 1 {
			t.lines = []line{{sale: t.sale, comm: t.comm, qty: 1}}
		} else {
			restS, restC := t.sale, t.comm
			for i := range n {
				var ls, lc amount
				if i == n-1 {
					ls, lc = restS, restC
				} else {
					pct := int64(r.between(20, 60))
					ls = mkAmount(rescale(restS.units, restS.scale, restS.scale, pct, 100), restS.scale)
					lc = mkAmount(rescale(restC.units, restC.scale, restC.scale, pct, 100), restC.scale)
					restS, restC = diff(restS, ls), diff(restC, lc)
				}
				t.lines = append(t.lines, line{sale: ls, comm: lc, qty: 1})
			}
		}
	}
	for i := range t.lines {
		l := &t.lines[i]
		l.sku = strconv.Itoa(100000 + r.intn(900000))
		l.name = r.pick(productNames)
		if r.chance(15) && !t.adjusted {
			l.qty = 2
		}
		l.id = prefix + strconv.FormatInt(t.num, 10) + "-" + strconv.Itoa(i+1)
	}
}

var productNames = []string{"Wireless Earbuds", "Café Crème 1kg", "Trail Running Shoe", "Smörgåsbord Plate Set", "USB-C Cable 2m", "Bücherregal Eiche", "東京 Tea Set", "Yoga Mat"}

// roundTo rounds an amount to scale digits, half away from zero.
func roundTo(a amount, scale int) amount {
	if a.scale == scale {
		return a
	}
	return mkAmount(rescale(a.units, a.scale, scale, 1, 1), scale)
}

// floatText renders an amount as a float64 would print (shortest form):
// what a network serialising doubles sends.
func floatText(a amount) string {
	f := float64(a.units) / math.Pow10(a.scale)
	if a.scale > 10 {
		return a.text
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// oauthError is the RFC 6749 error body.
func oauthError(status int, code, desc string) *response {
	return jsonResp(status, obj{{"error", code}, {"error_description", desc}})
}

// bearerGrant resolves an Authorization: Bearer access token of network nw.
func (s *Server) bearerGrant(nw string, r *http.Request) *grant {
	return s.lookup(nw, "access", bearer(r))
}

// hexID is a 32-digit hexadecimal id derived from parts.
func hexID(parts ...string) string {
	var b [16]byte
	h1, h2 := seedFor(0, parts...), seedFor(1, parts...)
	for i := range 8 {
		b[i] = byte(h1 >> (8 * i))
		b[8+i] = byte(h2 >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
