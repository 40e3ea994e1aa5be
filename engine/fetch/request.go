package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/spec"
)

// pageState is where a window's page sequence stands: the CEL page
// variable, and for URL-following kinds the URL of the page to get.
type pageState struct {
	seq    int
	number int
	offset int
	size   int
	cursor string
	url    string // next_url, link_header: absolute URL of this page ("" on the first)
}

func (st pageState) vars() map[string]any {
	return map[string]any{"number": st.number, "offset": st.offset, "size": st.size, "cursor": st.cursor}
}

// built is one rendered request.
type built struct {
	req    *http.Request
	url    string // the URL before auth parameters were added
	body   []byte
	method string
}

// activation converts vars to CEL values for Program.Eval.
func activation(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range expr.Vars(vars) {
		out[k] = v
	}
	return out
}

// requestVars returns the request scope for st at now; req carries
// method, path, query and date once known; job is the report job's
// variable (poll and download only).
func (f *fetcher) requestVars(st pageState, now time.Time, req map[string]string, job map[string]any) map[string]any {
	session := map[string]string{}
	if f.sp.Auth.Kind == "session" {
		session["token"] = f.session
	}
	vars := map[string]any{
		"account": f.accountVars,
		"window":  f.windowVars,
		"secret":  f.acct.Secrets,
		"session": session,
		"page":    st.vars(),
		"request": req,
		"now":     now.UTC(),
	}
	if job != nil {
		vars["job"] = job
	}
	return activation(vars)
}

func (f *fetcher) render(t *spec.Template, vars map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	return t.Render(vars)
}

// buildOpts says which request build renders, and how.
type buildOpts struct {
	call  spec.Call
	st    pageState
	token string         // the OAuth2 access token, when the spec uses OAuth2
	auth  bool           // authenticate the request as the spec's auth says
	paged bool           // a page request: pagination parameters, next URLs
	job   map[string]any // the report job (poll, download)
}

// page returns the options of the main request for page st.
func (f *fetcher) pageOpts(st pageState, token string) buildOpts {
	return buildOpts{call: f.sp.MainCall(), st: st, token: token, auth: true, paged: true}
}

// build renders a request. Templates see the URL as the spec makes it;
// the account's origins are applied to the URL sent.
func (f *fetcher) build(ctx context.Context, o buildOpts) (*built, error) {
	sp := f.sp
	call := o.call
	st := o.st
	now := f.c.now()
	method := call.Method
	if method == "" {
		method = http.MethodGet
	}
	reqVars := map[string]string{"method": method, "path": "", "query": "", "date": now.UTC().Format(http.TimeFormat)}
	vars := f.requestVars(st, now, reqVars, o.job)

	var u *url.URL
	var err error
	if o.paged && st.url != "" {
		if u, err = url.Parse(st.url); err != nil {
			return nil, fmt.Errorf("next page URL: %w", err)
		}
	} else {
		path, err := f.render(call.Path, vars)
		if err != nil {
			return nil, fmt.Errorf("%s.path: %w", call.Site, err)
		}
		if isAbsURL(path) {
			if u, err = url.Parse(path); err != nil {
				return nil, fmt.Errorf("%s.path: %w", call.Site, err)
			}
		} else {
			if !strings.HasPrefix(path, "/") && path != "" {
				path = "/" + path
			}
			if u, err = url.Parse(f.base + path); err != nil {
				return nil, fmt.Errorf("%s URL: %w", call.Site, err)
			}
		}
		add := url.Values{}
		for _, p := range call.Query {
			if p.List == nil {
				v, err := f.render(p.T, vars)
				if err != nil {
					return nil, fmt.Errorf("%s.query.%s: %w", call.Site, p.Name, err)
				}
				if v != "" {
					add.Set(p.Name, v)
				}
				continue
			}
			for i, t := range p.List {
				v, err := f.render(t, vars)
				if err != nil {
					return nil, fmt.Errorf("%s.query.%s[%d]: %w", call.Site, p.Name, i, err)
				}
				if v != "" {
					add.Add(p.Name, v)
				}
			}
		}
		if o.paged {
			f.paginationParams(add, st)
		}
		if len(add) > 0 {
			q := u.Query()
			for k, vs := range add {
				q[k] = vs
			}
			u.RawQuery = q.Encode()
		}
	}
	plain := u.String()

	auth := sp.Auth
	switch auth.Kind {
	case "api_key", "bearer":
		if auth.In != "query" || !o.auth {
			break
		}
		name, val := auth.Name, ""
		if auth.Kind == "api_key" {
			if val, err = f.render(sp.AuthParams["value"], vars); err != nil {
				return nil, fmt.Errorf("auth.value: %w", err)
			}
		} else {
			if val, err = f.render(sp.AuthParams["token"], vars); err != nil {
				return nil, fmt.Errorf("auth.token: %w", err)
			}
			name = auth.Param
			if name == "" {
				name = "access_token"
			}
		}
		q := u.Query()
		q.Set(name, val)
		u.RawQuery = q.Encode()
	}

	reqVars["path"] = u.EscapedPath()
	reqVars["query"] = u.RawQuery
	vars = f.requestVars(st, now, reqVars, o.job)

	body, ctype, err := f.body(call, vars)
	if err != nil {
		return nil, err
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.origins.apply(u).String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call.Site, err)
	}
	req.Header.Set("User-Agent", "afflake")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, p := range call.Headers {
		v, err := f.render(p.T, vars)
		if err != nil {
			return nil, fmt.Errorf("%s.headers.%s: %w", call.Site, p.Name, err)
		}
		if v != "" {
			req.Header.Set(p.Name, v)
		}
	}
	if o.auth {
		if err := f.authHeaders(req, vars, o.token); err != nil {
			return nil, err
		}
	}
	return &built{req: req, url: plain, body: body, method: method}, nil
}

// isAbsURL reports whether a rendered path is an absolute http(s) URL.
func isAbsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// paginationParams adds the page's query parameters.
func (f *fetcher) paginationParams(q url.Values, st pageState) {
	pg := f.sp.Pagination
	switch pg.Kind {
	case "page":
		q.Set(pg.Param, fmt.Sprint(st.number))
		if pg.SizeParam != "" && pg.Size > 0 {
			q.Set(pg.SizeParam, fmt.Sprint(pg.Size))
		}
	case "offset":
		q.Set(pg.Param, fmt.Sprint(st.offset))
		if pg.LimitParam != "" {
			q.Set(pg.LimitParam, fmt.Sprint(pg.Limit))
		}
	case "cursor":
		if pg.Param != "" && st.cursor != "" {
			q.Set(pg.Param, st.cursor)
		}
	}
}

// body renders the request body of call and its content type.
func (f *fetcher) body(call spec.Call, vars map[string]any) ([]byte, string, error) {
	b := call.Body
	site := call.Site + ".body"
	switch b.Kind {
	case "", "none":
		return nil, "", nil
	case "json":
		v, err := b.JSON.Eval(vars)
		if err != nil {
			return nil, "", fmt.Errorf("%s.json: %w", site, err)
		}
		j, err := toJSON(v)
		if err != nil {
			return nil, "", fmt.Errorf("%s.json: %w", site, err)
		}
		out, err := json.Marshal(j)
		if err != nil {
			return nil, "", fmt.Errorf("%s.json: %w", site, err)
		}
		return out, "application/json", nil
	case "form":
		form := url.Values{}
		for _, p := range b.Form {
			v, err := f.render(p.T, vars)
			if err != nil {
				return nil, "", fmt.Errorf("%s.form.%s: %w", site, p.Name, err)
			}
			form.Set(p.Name, v)
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded", nil
	case "graphql":
		q, err := f.render(b.Query, vars)
		if err != nil {
			return nil, "", fmt.Errorf("%s.query: %w", site, err)
		}
		doc := map[string]any{"query": q}
		if len(b.Variables) > 0 {
			vs := map[string]any{}
			for name, p := range b.Variables {
				v, err := p.Eval(vars)
				if err != nil {
					return nil, "", fmt.Errorf("%s.variables.%s: %w", site, name, err)
				}
				if vs[name], err = toJSON(v); err != nil {
					return nil, "", fmt.Errorf("%s.variables.%s: %w", site, name, err)
				}
			}
			doc["variables"] = vs
		}
		out, err := json.Marshal(doc)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", site, err)
		}
		return out, "application/json", nil
	case "text":
		t, err := f.render(b.Text, vars)
		if err != nil {
			return nil, "", fmt.Errorf("%s.text: %w", site, err)
		}
		return []byte(t), b.ContentType, nil
	}
	return nil, "", fmt.Errorf("%s.kind %q: %w", site, b.Kind, ErrUnsupported)
}

// toJSON turns a CEL value into a value encoding/json writes: exact
// numbers stay exact, timestamps become RFC 3339 text.
func toJSON(v ref.Val) (any, error) {
	if types.IsError(v) {
		return nil, fmt.Errorf("%v", v)
	}
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	case types.Bytes:
		return []byte(x), nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return x.Duration.String(), nil
	case expr.Number:
		return json.Number(x), nil
	case expr.Dec:
		return json.Number(x.D.Compact()), nil
	case traits.Mapper:
		out := map[string]any{}
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("a JSON object key must be a string, not %s", k.Type().TypeName())
			}
			val, err := toJSON(x.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = val
		}
		return out, nil
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			val, err := toJSON(x.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot send a %s as JSON", v.Type().TypeName())
}

// exchangeResult is a response read in full.
type exchangeResult struct {
	status   int
	header   http.Header
	body     []byte
	started  time.Time
	duration time.Duration
}

// netError is a failed exchange worth retrying: a timeout or a broken
// connection. Its text carries no URL.
type netError struct {
	timeout time.Duration // >0 for a timeout
	err     error
}

func (e *netError) Error() string {
	if e.timeout > 0 {
		return fmt.Sprintf("no complete response within limits.timeout %s", e.timeout)
	}
	return "connection error: " + e.err.Error()
}

func (e *netError) Unwrap() error { return e.err }

// noFollowKey marks the context of a request whose redirects are not
// followed: the 3xx response is the answer.
type noFollowKey struct{}

// DefaultTimeout bounds a request when the spec gives no timeout.
const DefaultTimeout = 60 * time.Second

// roundTrip sends req with the per-request timeout and reads the body.
func (c *Client) roundTrip(ctx context.Context, timeout time.Duration, req *http.Request) (*exchangeResult, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	started := c.now()
	t0 := time.Now()
	hc := c.http
	if req.Context().Value(noFollowKey{}) != nil {
		hc = c.noFollow
	}
	resp, err := hc.Do(req.WithContext(tctx))
	if err != nil {
		return nil, transportError(ctx, tctx, timeout, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, transportError(ctx, tctx, timeout, err)
	}
	return &exchangeResult{status: resp.StatusCode, header: resp.Header, body: body, started: started, duration: time.Since(t0)}, nil
}

func transportError(ctx, tctx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text holds the URL
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return &netError{timeout: timeout, err: err}
	}
	return &netError{err: err}
}
