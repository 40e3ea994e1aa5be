// Package fetch runs a network spec's requests for one account and one
// date window: it renders the request, authenticates, follows the
// pagination to the end and hands every page's raw body to the caller
// before anything parses its records.
//
// One Client serves a whole run. A global worker pool bounds the
// requests in flight; each credential (a network and the account's
// secrets) gets a sub-pool of limits.concurrency workers and a token
// bucket of limits.rate and limits.burst, created on first use and
// shared by every window and account using that credential. Failed
// requests are retried on 429, 5xx, timeouts and connection errors, with
// exponential backoff and full jitter, honouring Retry-After. Every
// secret is masked in what leaves the package: pages, errors, logs.
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	"golang.org/x/time/rate"

	"github.com/afflake/afflake/engine/spec"
)

// Account is one publisher account of a network and its credentials.
type Account struct {
	ID       string
	Currency string
	// Extra is further account configuration, readable as account.<key>.
	Extra map[string]string
	// Secrets are readable as secret.<key>; every value is masked
	// wherever it could appear.
	Secrets map[string]string
	// BaseURL overrides the spec's base_url when set (e.g. a sandbox).
	BaseURL string
	// Origins rewrites the URLs sent: a URL whose origin (scheme, host
	// and port, e.g. "https://auth.example.com") is a key is sent to the
	// value instead, an origin with an optional path prefix
	// ("http://127.0.0.1:8080/network-a"). It applies to every request:
	// pages, next-page URLs, token, login and report requests; BaseURL
	// is applied first.
	Origins map[string]string
}

// Page is one successful response.
type Page struct {
	Seq            int // 1-based position in the window's page sequence
	Method         string
	URL            string      // redacted
	RequestHeaders http.Header // redacted
	RequestBody    []byte      // redacted
	Status         int
	Header         http.Header // response headers, credentials masked
	// Body is the response body as received (a body that happens to
	// contain a secret has it masked).
	Body     []byte
	Started  time.Time
	Duration time.Duration
	Attempts int // requests sent for this page, retries included
}

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	// MaxConcurrency bounds the requests in flight across every
	// network and credential; default 16.
	MaxConcurrency int
	// HTTP sends the requests; default a client with no overall timeout
	// (each request is bounded by the spec's limits.timeout).
	HTTP *http.Client
	// Logger receives a debug record per request and a warning per
	// retry; default: discard.
	Logger *slog.Logger
	// Now is the clock for page times, token expiry and HMAC dates;
	// default time.Now.
	Now func() time.Time
	// Sleep waits out backoffs, Retry-After and report polls; default a
	// timer that stops early when ctx is done. Waits for the rate
	// limiter's tokens always use the real clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Tokens keeps the refresh tokens an OAuth2 token endpoint rotates,
	// for the next run; default none (a rotated token lives only as long
	// as the Client, and a warning is logged).
	Tokens TokenStore
}

// NetworkStats count one network's traffic.
type NetworkStats struct {
	Requests int64 // HTTP requests sent, retries and token requests included
	Retries  int64 // requests repeated after a failure
	Bytes    int64 // response body bytes received
	Pages    int64 // pages handed to emit
}

// Client fetches pages. It is safe for concurrent use; create one per
// run and call Close when done.
type Client struct {
	http     *http.Client
	noFollow *http.Client // the same, not following redirects (logins)
	tokens   TokenStore
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	pool     pond.Pool

	mu    sync.Mutex
	creds map[string]*credential
	stats map[string]*NetworkStats
}

// DefaultMaxConcurrency is the global bound when Options leave it zero.
const DefaultMaxConcurrency = 16

// New returns a Client.
func New(opts Options) *Client {
	c := &Client{
		http:   opts.HTTP,
		log:    opts.Logger,
		now:    opts.Now,
		sleep:  opts.Sleep,
		tokens: opts.Tokens,
		creds:  map[string]*credential{},
		stats:  map[string]*NetworkStats{},
	}
	n := opts.MaxConcurrency
	if n <= 0 {
		n = DefaultMaxConcurrency
	}
	c.pool = pond.NewPool(n)
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = n // keep a connection per worker
		c.http = &http.Client{Transport: t}
	}
	nf := *c.http
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.noFollow = &nf
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c
}

// Close waits for requests in flight and stops the worker pool.
func (c *Client) Close() { c.pool.StopAndWait() }

// Stats returns a copy of the counters, by network.
func (c *Client) Stats() map[string]NetworkStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]NetworkStats, len(c.stats))
	for k, v := range c.stats {
		out[k] = *v
	}
	return out
}

func (c *Client) count(network string, f func(*NetworkStats)) {
	c.mu.Lock()
	s := c.stats[network]
	if s == nil {
		s = &NetworkStats{}
		c.stats[network] = s
	}
	f(s)
	c.mu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// credential is the shared state of one network and one set of secrets:
// its worker sub-pool, its token bucket, a pause set by Retry-After, its
// OAuth2 token and its sessions.
type credential struct {
	pool    pond.Pool
	limiter *rate.Limiter

	mu       sync.Mutex
	pause    time.Time // no request before this instant
	token    *oauthToken
	refresh  map[string]string // latest refresh token, by account
	sessions map[string]string // session value, by account
	tokens   []string          // every token obtained, masked like secrets

	tokenMu sync.Mutex // one token request or login at a time
}

// credentialKey identifies a credential without keeping its secrets.
func credentialKey(network string, secrets map[string]string) string {
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(secrets[k]))
		h.Write([]byte{0})
	}
	return network + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}

// credential returns the credential of acct on sp's network, creating it
// with the spec's limits on first use.
func (c *Client) credential(sp *spec.Spec, acct Account) *credential {
	key := credentialKey(sp.Name, acct.Secrets)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr, ok := c.creds[key]; ok {
		return cr
	}
	lim := sp.Limits
	// A sub-pool may not be larger than its parent.
	conc := min(max(lim.Concurrency, 1), c.pool.MaxConcurrency())
	r := rate.Inf
	if lim.Rate > 0 {
		r = rate.Limit(lim.Rate)
	}
	cr := &credential{
		pool:     c.pool.NewSubpool(conc),
		limiter:  rate.NewLimiter(r, max(lim.Burst, 1)),
		refresh:  map[string]string{},
		sessions: map[string]string{},
	}
	c.creds[key] = cr
	return cr
}

// pauseUntil holds every request of the credential until t.
func (cr *credential) pauseUntil(t time.Time) {
	cr.mu.Lock()
	if t.After(cr.pause) {
		cr.pause = t
	}
	cr.mu.Unlock()
}

// keep adds obtained tokens to those masked.
func (cr *credential) keep(tokens ...string) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, t := range tokens {
		if t != "" {
			cr.tokens = append(cr.tokens, t)
		}
	}
}

func (cr *credential) obtainedTokens() []string {
	if cr == nil {
		return nil
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return append([]string(nil), cr.tokens...)
}

// slotWait is the longest wait for a rate-limiter token spent holding a
// worker; longer waits give the worker back and queue again.
const slotWait = 20 * time.Millisecond

// exchange sends req through the credential's sub-pool once its token
// bucket allows it and no Retry-After pause holds the credential, and
// reads the whole response.
func (c *Client) exchange(ctx context.Context, cr *credential, timeout time.Duration, req *http.Request) (*exchangeResult, error) {
	// waited is the pause deadline this request has already waited out:
	// each pause is waited for once, whatever the clock says.
	var waited time.Time
	for {
		cr.mu.Lock()
		pause := cr.pause
		cr.mu.Unlock()
		if pause.After(waited) {
			waited = pause
			if d := pause.Sub(c.now()); d > 0 {
				if err := c.sleep(ctx, d); err != nil {
					return nil, err
				}
			}
		}
		var (
			res    *exchangeResult
			err    error
			delay  time.Duration
			paused bool
		)
		task := cr.pool.Submit(func() {
			if err = ctx.Err(); err != nil {
				return
			}
			cr.mu.Lock()
			paused = cr.pause.After(waited) && cr.pause.After(c.now())
			cr.mu.Unlock()
			if paused {
				return // a 429 arrived while this request queued
			}
			rv := cr.limiter.Reserve()
			d := rv.Delay()
			if d > slotWait {
				rv.Cancel()
				delay = d
				return
			}
			if d > 0 {
				if err = sleepCtx(ctx, d); err != nil {
					rv.Cancel()
					return
				}
			}
			res, err = c.roundTrip(ctx, timeout, req)
		})
		select {
		case <-task.Done():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if res == nil && err == nil && delay == 0 && !paused {
			if werr := task.Wait(); werr != nil {
				return nil, werr // the pool was stopped
			}
		}
		switch {
		case paused:
			continue
		case delay > 0:
			if err := sleepCtx(ctx, delay-slotWait/2); err != nil {
				return nil, err
			}
			continue
		}
		return res, err
	}
}

// pooled sends req in the global pool, outside any credential's limits
// (token requests go to another endpoint).
func (c *Client) pooled(ctx context.Context, timeout time.Duration, req *http.Request) (*exchangeResult, error) {
	var (
		res *exchangeResult
		err error
	)
	task := c.pool.Submit(func() {
		if err = ctx.Err(); err == nil {
			res, err = c.roundTrip(ctx, timeout, req)
		}
	})
	select {
	case <-task.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if werr := task.Wait(); werr != nil && res == nil && err == nil {
		return nil, werr
	}
	return res, err
}
