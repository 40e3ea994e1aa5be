// Package sandbox is an in-process HTTP emulator of the transaction APIs of
// affiliate networks, each written from the networks' own documentation
// (see the comment at the top of each network's file for its details and
// for the behaviours chosen where the documentation is silent).
//
// The emulated world is deterministic: every account has PerDay transactions
// per UTC day, generated from (Seed, account, day) alone, starting Days before
// the initial clock. Moving the clock forward makes new transactions appear
// and lets existing ones move through their lifecycle (pending → approved or
// declined → paid), exactly as a connector would observe on the real APIs.
// Every network checks credentials, pages, limits windows and answers errors
// the way the real API does, throttles each credential with 429 and
// Retry-After (Options.RateLimit, fast by default) and is subject to the
// injected Faults.
//
// Routes (the network name is a path prefix in front of the real path):
//
//	GET  /awin/publishers/{publisherId}/transactions/
//	GET  /impact/Mediapartners/{AccountSID}/Actions
//	POST /cj/query
//	GET  /partnerize/reporting/report_publisher/publisher/{publisher_id}/conversion.json
//	POST /tradedoubler/uaa/oauth/token
//	GET  /tradedoubler/publisher/report/transactions
//	POST /admitad/token/
//	GET  /admitad/statistics/actions/
//	GET  /pepperjam/20120402/publisher/report/transaction-details
//	POST /everflow/v1/affiliates/reporting/conversions
//	GET  /ebay_partner_network/Mediapartners/{AccountSID}/Reports/ebay_partner_transaction_detail.json
//	GET  /flexoffers/allsales
//	GET  /commission_factory/V1/Affiliate/Transactions
//	POST /skimlinks/access_token                  (authentication.skimapis.com in reality)
//	GET  /skimlinks/publisher/{publisher_id}/commission-report
//	POST /adtraction/v2/affiliate/transactions
//	GET  /sovrn_commerce/reports/transactions     (https://viglink.io/v1 in reality; also under /v1/)
//	GET  /tune/v3/Affiliate_Report.json
//	POST /rakuten/token
//	GET  /rakuten/events/1.0/transactions
//	POST /daisycon/oauth/access-token             (login.daisycon.com in reality)
//	GET  /daisycon/publishers/{publisher_id}/transactions
//	GET  /webgains/aws.php?wsdl
//	POST /webgains/aws.php                        (SOAP getFullEarningsWithCurrency)
//	GET  /tradetracker/soap/affiliate?wsdl
//	POST /tradetracker/soap/affiliate             (SOAP authenticate, getAffiliateSites, getConversionTransactions)
//	GET  /shareasale/x.cfm?action=activity
package sandbox

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "time/tzdata" // the networks' time zones (request parameters and record dates)
)

// Network names, also the path prefixes of the routes.
const (
	NetworkAwin               = "awin"
	NetworkImpact             = "impact"
	NetworkCJ                 = "cj"
	NetworkPartnerize         = "partnerize"
	NetworkTradedoubler       = "tradedoubler"
	NetworkAdmitad            = "admitad"
	NetworkPepperjam          = "pepperjam"
	NetworkEverflow           = "everflow"
	NetworkEbayPartnerNetwork = "ebay_partner_network"
	NetworkFlexOffers         = "flexoffers"
	NetworkCommissionFactory  = "commission_factory"
	NetworkSkimlinks          = "skimlinks"
	NetworkAdtraction         = "adtraction"
	NetworkSovrnCommerce      = "sovrn_commerce"
	NetworkTune               = "tune"
	NetworkRakuten            = "rakuten"
	NetworkDaisycon           = "daisycon"
	NetworkWebgains           = "webgains"
	NetworkTradeTracker       = "tradetracker"
	NetworkShareASale         = "shareasale"
)

// CJPageLimit is the number of records a CJ publisherCommissions response
// carries at most; the rest is fetched with sinceCommissionId.
const CJPageLimit = 100

// DefaultRateLimit is the per-credential request rate (requests per second)
// used when Options.RateLimit has no entry for a network.
const DefaultRateLimit = 50.0

// emulation is one emulated network: its accounts, its routes, how its
// transactions are drawn from the shared model and how its truth reads.
type emulation struct {
	name     string
	accounts func() []*account
	// serve answers a request whose path, the network prefix removed, is rest.
	serve func(s *Server, r *http.Request, rest string) *response
	// truth renders a transaction of the shared model as the records the
	// network reports for it at clock (one, none, or one per basket line).
	truth func(s *Server, a *account, t *txn, clock time.Time) []Truth

	// generation hooks, called by generateDay for every transaction
	amounts func(r *rng, t *txn, saleCents int64, k int) // sale and commission
	ids     func(t *txn, day int64, i int)               // num (the order) and id
	extra   func(r *rng, t *txn)                         // network-specific draws; may be nil

	// setup runs once when a Server is created (e.g. to issue credentials
	// obtained outside the API); may be nil.
	setup func(s *Server)

	extensions  bool // locking dates may be extended (CJ)
	corrections bool // amendments are separate correction records (CJ)
}

// registry lists the emulations in the order Networks reports them.
func registry() []*emulation {
	return []*emulation{
		awinEmulation(),
		impactEmulation(),
		cjEmulation(),
		partnerizeEmulation(),
		tradedoublerEmulation(),
		admitadEmulation(),
		pepperjamEmulation(),
		everflowEmulation(),
		epnEmulation(),
		flexEmulation(),
		cfEmulation(),
		skimEmulation(),
		adtractionEmulation(),
		sovrnEmulation(),
		tuneEmulation(),
		rakutenEmulation(),
		daisyconEmulation(),
		webgainsEmulation(),
		tradetrackerEmulation(),
		shareasaleEmulation(),
	}
}

var emulations = sync.OnceValue(registry)

// Networks returns the names of the emulated networks.
func Networks() []string {
	var out []string
	for _, e := range emulations() {
		out = append(out, e.name)
	}
	return out
}

// Options configures a Server.
type Options struct {
	Clock     time.Time          // "now" of the emulated world; zero = 2026-11-01T00:00:00Z
	Seed      int64              // deterministic data; 0 = 1
	PerDay    int                // transactions per account per day; 0 = 20
	Days      int                // history length in days before Clock; 0 = 90
	RateLimit map[string]float64 // requests per second per credential, by network; 0/missing = 50
	Faults    Faults
}

// Faults injects failures. Counters are per network and restart with
// SetFaults.
type Faults struct {
	Latency      time.Duration // added to every response
	Burst5xx     int           // the first N requests get 503 (Retry-After: 1 on every other one)
	TruncateBody int           // the first N successful data responses are cut in half
	InvalidJSON  int           // the next N successful data responses are replaced by broken JSON
	RepeatCursor bool          // pagination never advances: the same next cursor / page URI forever
}

// Account is an account the sandbox accepts, with its credentials.
type Account struct {
	Network  string
	ID       string
	Secrets  map[string]string
	Currency string
	// Extra holds settings of the account that are not secret but that
	// requests need (TUNE's network_id); nil for most networks.
	Extra map[string]string
}

// Truth is one transaction as the network holds it at the current clock.
type Truth struct {
	ID            string
	Status        string // the network's raw status value at clock
	Sale          string // exact decimal text as sent by the network
	Commission    string
	Currency      string
	TransactionAt time.Time
}

// Stats are per-network request counters.
type Stats struct {
	Requests        int
	Status429       int
	Status5xx       int
	MaxObservedRate float64 // highest number of requests of one credential within 1s
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	seed     int64
	perDay   int
	origin   time.Time
	rates    map[string]float64
	emus     map[string]*emulation
	accounts []*account

	mu      sync.Mutex
	clock   time.Time
	faults  Faults
	fstate  map[string]*faultState
	stats   map[string]*Stats
	buckets map[string]*bucket
	windows map[string][]time.Time
	days    map[dayKey][]*txn
	tokens  map[string]*grant // issued OAuth access tokens and session ids
	issued  int               // tokens issued so far (they are derived from it)

	now func() time.Time // wall clock for rate limiting

	srvMu sync.Mutex
	srv   *http.Server
}

type faultState struct{ requests, truncated, invalid int }

type dayKey struct {
	acct *account
	day  int64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New creates a sandbox.
func New(opts Options) *Server {
	if opts.Clock.IsZero() {
		opts.Clock = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.PerDay <= 0 {
		opts.PerDay = 20
	}
	if opts.PerDay > 9999 {
		opts.PerDay = 9999
	}
	if opts.Days <= 0 {
		opts.Days = 90
	}
	s := &Server{
		seed:    opts.Seed,
		perDay:  opts.PerDay,
		origin:  opts.Clock.UTC().Add(-time.Duration(opts.Days) * 24 * time.Hour),
		rates:   map[string]float64{},
		emus:    map[string]*emulation{},
		clock:   opts.Clock.UTC(),
		faults:  opts.Faults,
		stats:   map[string]*Stats{},
		buckets: map[string]*bucket{},
		windows: map[string][]time.Time{},
		days:    map[dayKey][]*txn{},
		tokens:  map[string]*grant{},
		now:     time.Now,
	}
	for _, e := range emulations() {
		n := e.name
		r := opts.RateLimit[n]
		if r <= 0 {
			r = DefaultRateLimit
		}
		s.rates[n] = r
		s.stats[n] = &Stats{}
		s.emus[n] = e
		for _, a := range e.accounts() {
			a.emu, a.network = e, n
			s.accounts = append(s.accounts, a)
		}
	}
	s.resetFaultState()
	for _, e := range emulations() {
		if e.setup != nil {
			e.setup(s)
		}
	}
	return s
}

func (s *Server) resetFaultState() {
	s.fstate = map[string]*faultState{}
	for _, n := range Networks() {
		s.fstate[n] = &faultState{}
	}
}

// Accounts returns the accounts and credentials the sandbox accepts, in
// the order of Networks. A credential that rotates (Daisycon's refresh
// token) is given as currently valid.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		sec := make(map[string]string, len(a.secrets))
		for k, v := range a.secrets {
			// An account's own ID (an Impact or eBay AccountSID, sent as
			// the Basic user) is an identifier, not a secret.
			if v != a.id {
				sec[k] = v
			}
		}
		var extra map[string]string
		for k, v := range a.extra {
			if extra == nil {
				extra = map[string]string{}
			}
			extra[k] = v
		}
		out = append(out, Account{Network: a.network, ID: a.id, Secrets: sec, Currency: a.currency, Extra: extra})
	}
	return out
}

// SetClock moves the emulated "now".
func (s *Server) SetClock(t time.Time) {
	s.mu.Lock()
	s.clock = t.UTC()
	s.mu.Unlock()
}

// Clock returns the emulated "now".
func (s *Server) Clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// SetFaults replaces the injected faults and restarts their counters.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.resetFaultState()
	s.mu.Unlock()
}

// Stats returns a copy of the per-network counters.
func (s *Server) Stats() map[string]Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Stats, len(s.stats))
	for k, v := range s.stats {
		out[k] = *v
	}
	return out
}

// Transactions returns every transaction of the account that exists at the
// current clock, with the status it has now, in the network's id order: one
// Truth per record a complete walk of the network's API returns. For CJ,
// correction records are separate entries (as the API reports them) and
// Status is the actionStatus; for networks reporting basket lines (Rakuten,
// Daisycon) it is one entry per line. Status is empty for networks whose
// records carry no status (Rakuten, Everflow, Sovrn Commerce).
func (s *Server) Transactions(network, accountID string) []Truth {
	a := s.account(network, accountID)
	if a == nil {
		return nil
	}
	clock := s.Clock()
	var out []Truth
	for _, t := range s.visible(a, clock, time.Time{}, time.Time{}) {
		out = append(out, a.emu.truth(s, a, t, clock)...)
	}
	return out
}

func (s *Server) account(network, id string) *account {
	for _, a := range s.accounts {
		if a.network == network && a.id == id {
			return a
		}
	}
	return nil
}

func (s *Server) dayTxns(a *account, day int64) []*txn {
	k := dayKey{a, day}
	s.mu.Lock()
	v, ok := s.days[k]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = generateDay(s.seed, s.perDay, a, day)
	s.mu.Lock()
	if old, ok := s.days[k]; ok {
		v = old
	} else {
		s.days[k] = v
	}
	s.mu.Unlock()
	return v
}

// visible returns the account's records (CJ corrections included) posted at
// or before clock, optionally restricted to events in the UTC days touched by
// [from, to]; zero bounds mean unrestricted. Ordered by numeric id.
func (s *Server) visible(a *account, clock, from, to time.Time) []*txn {
	first := floorDay(s.origin)
	last := floorDay(clock)
	if !from.IsZero() && floorDay(from) > first {
		first = floorDay(from)
	}
	if !to.IsZero() && floorDay(to) < last {
		last = floorDay(to)
	}
	var out []*txn
	for d := first; d <= last; d++ {
		for _, t := range s.dayTxns(a, d) {
			if t.eventAt.Before(s.origin) || !t.visible(clock) {
				continue
			}
			out = append(out, t)
			if c := t.correction; c != nil && c.visible(clock) {
				out = append(out, c)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].num < out[j].num })
	return out
}

func floorDay(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 86399) / 86400
	}
	return u / 86400
}

// ---------------------------------------------------------------------------
// HTTP plumbing

// response is what a network handler produced, before faults are applied.
type response struct {
	status int
	ctype  string
	body   []byte
	header map[string]string
	data   bool // a successful data response (subject to body faults)
}

func jsonResp(status int, v any) *response {
	return &response{status: status, ctype: "application/json", body: encodeJSON(v)}
}

// Handler returns the HTTP handler serving every network under
// /<network>/....
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	nw, rest, _ := strings.Cut(p, "/")
	rest = "/" + rest
	emu := s.emus[nw]
	if emu == nil {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.stats[nw].Requests++
	fs := s.fstate[nw]
	n := fs.requests
	fs.requests++
	faults := s.faults
	s.mu.Unlock()

	if faults.Latency > 0 {
		t := time.NewTimer(faults.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	var resp *response
	if n < faults.Burst5xx {
		resp = &response{
			status: http.StatusServiceUnavailable,
			ctype:  "text/html",
			body:   []byte("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"),
		}
		if n%2 == 0 {
			resp.header = map[string]string{"Retry-After": "1"}
		}
	} else {
		resp = emu.serve(s, r, rest)
	}

	s.mu.Lock()
	st := s.stats[nw]
	switch {
	case resp.status == http.StatusTooManyRequests:
		st.Status429++
	case resp.status >= 500:
		st.Status5xx++
	}
	if resp.data && resp.status == http.StatusOK {
		fs := s.fstate[nw]
		switch {
		case fs.truncated < s.faults.TruncateBody:
			fs.truncated++
			resp.body = resp.body[:len(resp.body)/2]
		case fs.invalid < s.faults.InvalidJSON:
			fs.invalid++
			resp.body = []byte(`{"oops": ` + "\x00\x1b<garbage ûñ" + `,,]`)
		}
	}
	s.mu.Unlock()

	h := w.Header()
	if resp.ctype != "" {
		h.Set("Content-Type", resp.ctype+"; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	for k, v := range resp.header {
		h.Set(k, v)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// admit records a request of an authenticated credential and applies the
// per-credential token bucket. It returns 0 when the request may proceed,
// otherwise the Retry-After in seconds.
func (s *Server) admit(nw, cred string) int {
	now := s.now()
	key := nw + "\x00" + cred
	s.mu.Lock()
	defer s.mu.Unlock()

	win := s.windows[key]
	cut := now.Add(-time.Second)
	i := 0
	for i < len(win) && !win[i].After(cut) {
		i++
	}
	win = append(win[i:], now)
	s.windows[key] = win
	if r := float64(len(win)); r > s.stats[nw].MaxObservedRate {
		s.stats[nw].MaxObservedRate = r
	}

	rate := s.rates[nw]
	capacity := math.Max(1, rate)
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		s.buckets[key] = b
	}
	b.tokens = math.Min(capacity, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	wait := int(math.Ceil((1 - b.tokens) / rate))
	if wait < 1 {
		wait = 1
	}
	return wait
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Start serves the sandbox on addr (e.g. "127.0.0.1:0") and returns its base
// URL, e.g. http://127.0.0.1:41234.
func (s *Server) Start(addr string) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		return "", errors.New("sandbox: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener started by Start.
func (s *Server) Close() {
	s.srvMu.Lock()
	srv := s.srv
	s.srv = nil
	s.srvMu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
}
