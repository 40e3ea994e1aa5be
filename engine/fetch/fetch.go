package fetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/plan"
	"github.com/afflake/afflake/engine/spec"
)

// DefaultMaxPages bounds a page loop when the spec does not.
const DefaultMaxPages = 10000

// fetcher is one Fetch call: one spec, account and window.
type fetcher struct {
	c    *Client
	sp   *spec.Spec
	acct Account
	w    plan.Window
	cr   *credential
	base string

	accountVars map[string]any
	windowVars  map[string]any
	authSecrets []string        // rendered secret auth values
	seen        map[string]bool // cursors and next URLs already followed
	origins     origins
	session     string // the session value (session auth)
}

// Fetch gets every page of acct's data in window w, in order, calling
// emit with each successful page before its records are read (emit
// stores the raw body; it must not modify Page.Body, which the
// pagination reads afterwards). Bodies are read as response.format says:
// JSON, or CSV and XML turned into JSON once, which is what pagination
// and error expressions see as body. A body that cannot be read is
// still emitted before Fetch fails on it; a 2xx response whose
// response.error expression reports an error is not emitted. Fetch
// returns nil once the last page was emitted; any error is an *Error
// naming the network, account, window and page, with every secret
// masked.
//
// Query parameters and headers whose template renders empty are not
// sent. auth.params of OAuth2 are sent as written.
//
// Session auth logs in once per account (per Client), before the first
// request, and again once when a request is refused (401, 403) or
// auth.expired says so. The OAuth2 refresh_token grant starts from the
// newest refresh token known (Options.Tokens) and stores the ones the
// token endpoint rotates. acct.Origins rewrites every URL sent.
//
// A report spec's window is one page: the report job is created, polled
// until ready and downloaded, and the download is the page emitted.
func (c *Client) Fetch(ctx context.Context, sp *spec.Spec, acct Account, w plan.Window, emit func(Page) error) error {
	f, err := c.newFetcher(sp, acct, w)
	if err != nil {
		return err
	}
	return f.fetch(ctx, emit)
}

func (c *Client) newFetcher(sp *spec.Spec, acct Account, w plan.Window) (*fetcher, error) {
	f := &fetcher{
		c:          c,
		sp:         sp,
		acct:       acct,
		w:          w,
		base:       strings.TrimRight(sp.BaseURL, "/"),
		windowVars: plan.WindowVars(sp, w),
		seen:       map[string]bool{},
	}
	if acct.BaseURL != "" {
		f.base = strings.TrimRight(acct.BaseURL, "/")
	}
	f.accountVars = spec.AccountVars(acct.ID, acct.Currency, acct.Extra)
	if f.acct.Secrets == nil {
		f.acct.Secrets = map[string]string{}
	}
	var err error
	if f.origins, err = parseOrigins(acct.Origins); err != nil {
		return nil, f.fail(0, err)
	}
	if sp.Auth.Kind == "session" && (sp.Login == nil || sp.SessionToken == nil) {
		return nil, f.fail(0, fmt.Errorf("session auth without a compiled login: %w", ErrUnsupported))
	}
	f.cr = c.credential(sp, acct)
	f.authSecrets = f.renderAuthSecrets()
	return f, nil
}

// Request is a request as a run would send it, every secret masked.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

// Preview renders the first request of a window without sending it
// (an OAuth2 access token shows as the mask).
func (c *Client) Preview(sp *spec.Spec, acct Account, w plan.Window) (Request, error) {
	f, err := c.newFetcher(sp, acct, w)
	if err != nil {
		return Request{}, err
	}
	f.session = Mask
	o := f.pageOpts(f.firstPage(), Mask)
	if sp.Job != nil {
		o = buildOpts{call: sp.Job.Create, token: Mask, auth: true}
	}
	b, err := f.build(context.Background(), o)
	if err != nil {
		return Request{}, f.fail(1, err)
	}
	h := http.Header{}
	for k, vs := range b.req.Header {
		for _, v := range vs {
			h.Add(k, f.redact(v))
		}
	}
	if h.Get("Authorization") != "" {
		h.Set("Authorization", Mask)
	}
	return Request{Method: b.method, URL: f.redact(b.req.URL.String()), Header: h, Body: f.redact(string(b.body))}, nil
}

func (f *fetcher) fetch(ctx context.Context, emit func(Page) error) error {
	if f.sp.Job != nil {
		return f.report(ctx, emit)
	}
	return f.run(ctx, emit)
}

// renderAuthSecrets renders the secret-bearing auth templates that do
// not depend on the page, so that composed values are masked too.
func (f *fetcher) renderAuthSecrets() []string {
	vars := f.requestVars(pageState{}, f.c.now(), map[string]string{}, nil)
	var out []string
	for _, name := range secretAuthFields {
		if v, err := f.render(f.sp.AuthParams[name], vars); err == nil && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// secrets returns every value to mask now.
func (f *fetcher) secrets() []string {
	out := make([]string, 0, len(f.acct.Secrets)+len(f.authSecrets)+2)
	for _, v := range f.acct.Secrets {
		out = append(out, v)
	}
	out = append(out, f.authSecrets...)
	return append(out, f.cr.obtainedTokens()...)
}

func (f *fetcher) redact(s string) string { return Redact(s, f.secrets()...) }

// fail wraps err with the place, masking secrets in its text.
func (f *fetcher) fail(page int, err error) error {
	if err == nil {
		return nil
	}
	sec := f.secrets()
	return &Error{Network: f.sp.Name, Account: Redact(f.acct.ID, sec...), Window: f.w, Page: page, Err: redactedError{err, sec}}
}

// redactedError masks secrets in an error's text and keeps its chain.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string { return Redact(e.err.Error(), e.secrets...) }
func (e redactedError) Unwrap() error { return e.err }

func (f *fetcher) firstPage() pageState {
	pg := f.sp.Pagination
	st := pageState{seq: 1, number: 1}
	switch pg.Kind {
	case "page":
		st.number = pg.Start
		st.size = pg.Size
	case "offset":
		st.size = pg.Limit
	}
	return st
}

func (f *fetcher) run(ctx context.Context, emit func(Page) error) error {
	maxPages := f.sp.Pagination.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	st := f.firstPage()
	for {
		b, res, attempts, err := f.do(ctx, sendOpts{what: "request", page: st.seq, read: f.parse, pageErrors: true},
			func(token string) (*built, error) { return f.build(ctx, f.pageOpts(st, token)) })
		if err != nil {
			return f.fail(st.seq, err)
		}
		doc, perr := f.emitPage(st, b, res, attempts, emit)
		if perr != nil {
			return perr
		}
		next, more, err := f.next(st, b, doc, res)
		if err != nil {
			return f.fail(st.seq, err)
		}
		if !more {
			return nil
		}
		if st.seq >= maxPages {
			return f.fail(st.seq, fmt.Errorf("%w: pagination.max_pages %d reached and the response announces more", ErrPaginationLoop, maxPages))
		}
		st = next
	}
}

// emitPage checks a successful response with response.error, emits it
// and reads it. A body that cannot be read is emitted before the error.
func (f *fetcher) emitPage(st pageState, b *built, res *exchangeResult, attempts int, emit func(Page) error) (extract.Doc, error) {
	doc, perr := f.read(res.body)
	if perr == nil && f.sp.ErrorExpr != nil {
		if msg, err := f.responseError(doc.Root, res, st); err != nil {
			return doc, f.fail(st.seq, err)
		} else if msg != "" {
			return doc, f.fail(st.seq, fmt.Errorf("%w: the response reports an error: %s", ErrBadResponse, msg))
		}
	}
	if err := emit(f.page(st, b, res, attempts)); err != nil {
		return doc, f.fail(st.seq, err)
	}
	f.c.count(f.sp.Name, func(s *NetworkStats) { s.Pages++ })
	if perr != nil {
		return doc, f.fail(st.seq, fmt.Errorf("%w: %w", ErrBadResponse, perr))
	}
	return doc, nil
}

// read reads a page body as response says: JSON, or CSV and XML turned
// into JSON.
func (f *fetcher) read(body []byte) (extract.Doc, error) {
	return extract.Read(body, f.sp.Response)
}

// parse is read for the response expressions: the document's root.
func (f *fetcher) parse(body []byte) (gjson.Result, error) {
	doc, err := f.read(body)
	return doc.Root, err
}

// page makes the Page handed to emit, redacted.
func (f *fetcher) page(st pageState, b *built, res *exchangeResult, attempts int) Page {
	sec := f.secrets()
	var reqBody []byte
	if b.body != nil {
		reqBody = redactBytes(append([]byte(nil), b.body...), sec)
	}
	return Page{
		Seq:            st.seq,
		Method:         b.method,
		URL:            Redact(b.req.URL.String(), sec...),
		RequestHeaders: redactHeader(b.req.Header, sec),
		RequestBody:    reqBody,
		Status:         res.status,
		Header:         redactHeader(res.header, sec),
		Body:           redactBytes(res.body, sec),
		Started:        res.started,
		Duration:       res.duration,
		Attempts:       attempts,
	}
}

// sendOpts describe a request do sends.
type sendOpts struct {
	what string // for logs: "request", "report poll", …
	page int    // the page number for logs, 0 for none
	// read reads a response for auth.expired; nil: never expired.
	read func([]byte) (gjson.Result, error)
	// pageErrors: response.error reads the body of a response whose
	// status is in response.error_status.
	pageErrors bool
}

// do sends the request mk builds until it succeeds, fails for good or
// the retries are spent. mk gets the OAuth2 access token. A refused
// access token (401) is replaced once; a session refused (401, 403) or
// expired (auth.expired) is renewed once with a new login.
func (f *fetcher) do(ctx context.Context, o sendOpts, mk func(token string) (*built, error)) (*built, *exchangeResult, int, error) {
	oauth := f.sp.Auth.Kind == "oauth2"
	session := f.sp.Auth.Kind == "session"
	refused := ""
	renewed := false
	for attempt := 1; ; attempt++ {
		token := ""
		var err error
		if oauth {
			if token, err = f.accessToken(ctx, refused); err != nil {
				return nil, nil, attempt, err
			}
		}
		if session {
			if f.session, err = f.sessionToken(ctx, refused); err != nil {
				return nil, nil, attempt, err
			}
		}
		b, err := mk(token)
		if err != nil {
			return nil, nil, attempt, err
		}
		res, err := f.c.exchange(ctx, f.cr, f.sp.Timeout, b.req)
		f.c.count(f.sp.Name, func(s *NetworkStats) {
			s.Requests++
			if res != nil {
				s.Bytes += int64(len(res.body))
			}
		})
		f.logRequest(ctx, o.what, b.method, b.req.URL.String(), o.page, attempt, res, err)
		if err == nil && !renewed {
			switch {
			case oauth && res.status == http.StatusUnauthorized:
				// The token may have been revoked before its expiry: get a
				// new one, once.
				refused, renewed = token, true
				f.c.count(f.sp.Name, func(s *NetworkStats) { s.Retries++ })
				f.logRetry(ctx, o.what, o.page, attempt, 0, errors.New("401 Unauthorized: requesting a new access token"))
				continue
			case session && (res.status == http.StatusUnauthorized || res.status == http.StatusForbidden || f.expired(res, o.read)):
				refused, renewed = f.session, true
				f.c.count(f.sp.Name, func(s *NetworkStats) { s.Retries++ })
				f.logRetry(ctx, o.what, o.page, attempt, 0, fmt.Errorf("%d %s: the session has expired; logging in again", res.status, http.StatusText(res.status)))
				continue
			}
		}
		if err == nil && o.pageErrors && f.sp.ErrorStatus[res.status] && f.sp.ErrorExpr != nil {
			if doc, perr := f.read(res.body); perr == nil {
				msg, eerr := f.responseError(doc.Root, res, pageState{seq: o.page})
				if eerr == nil && msg != "" {
					return nil, nil, attempt, fmt.Errorf("%w: %d %s: the response reports an error: %s", ErrBadResponse, res.status, http.StatusText(res.status), msg)
				}
			}
		}
		wait, retry, ferr := f.classify(res, err, attempt)
		if !retry {
			if ferr != nil {
				return nil, nil, attempt, ferr
			}
			return b, res, attempt, nil
		}
		f.c.count(f.sp.Name, func(s *NetworkStats) { s.Retries++ })
		f.logRetry(ctx, o.what, o.page, attempt, wait, ferr)
		if err := f.c.sleep(ctx, wait); err != nil {
			return nil, nil, attempt, err
		}
	}
}

func (f *fetcher) logRequest(ctx context.Context, msg, method, rawURL string, page, attempt int, res *exchangeResult, err error) {
	if !f.c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("network", f.sp.Name),
		slog.String("account", f.redact(f.acct.ID)),
		slog.String("window", f.w.String()),
		slog.String("method", method),
		slog.String("url", f.redact(rawURL)),
		slog.Int("attempt", attempt),
	}
	if page > 0 {
		attrs = append(attrs, slog.Int("page", page))
	}
	if res != nil {
		attrs = append(attrs, slog.Int("status", res.status), slog.Duration("duration", res.duration), slog.Int("bytes", len(res.body)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", f.redact(err.Error())))
	}
	f.c.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}

func (f *fetcher) logRetry(ctx context.Context, msg string, page, attempt int, wait time.Duration, err error) {
	attrs := []slog.Attr{
		slog.String("network", f.sp.Name),
		slog.String("account", f.redact(f.acct.ID)),
		slog.String("window", f.w.String()),
		slog.Int("attempt", attempt),
		slog.Duration("wait", wait),
	}
	if page > 0 {
		attrs = append(attrs, slog.Int("page", page))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", f.redact(err.Error())))
	}
	f.c.log.LogAttrs(ctx, slog.LevelWarn, "retrying "+msg, attrs...)
}

// responseVars is the response scope of the page st.
func responseVars(root gjson.Result, res *exchangeResult, st pageState) map[string]any {
	return expr.ResponseVars(root, headerVars(res.header), st.vars())
}

func (f *fetcher) responseError(root gjson.Result, res *exchangeResult, st pageState) (string, error) {
	msg, err := f.sp.ResponseError(responseVars(root, res, st))
	if err != nil {
		if missing(err) {
			return "", nil
		}
		return "", fmt.Errorf("%w: response.error: %w", ErrBadResponse, err)
	}
	return msg, nil
}

// missing reports an evaluation that failed only because the response
// lacks a field: pagination reads that as "no next page".
func missing(err error) bool {
	s := err.Error()
	return strings.Contains(s, "no such key") || strings.Contains(s, "no such attribute")
}
