package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/spec"
)

// sessionToken returns the account's session value, logging in when
// there is none yet or refused is the value a response just refused.
// One login per account serves every window of a run.
func (f *fetcher) sessionToken(ctx context.Context, refused string) (string, error) {
	cr := f.cr
	cr.tokenMu.Lock()
	defer cr.tokenMu.Unlock()
	cr.mu.Lock()
	s := cr.sessions[f.acct.ID]
	cr.mu.Unlock()
	if s != "" && s != refused {
		return s, nil
	}
	s, err := f.login(ctx)
	if err != nil {
		return "", err
	}
	cr.mu.Lock()
	cr.sessions[f.acct.ID] = s
	cr.mu.Unlock()
	return s, nil
}

// login sends auth.login and reads the session value from its answer
// with auth.token. Redirects are not followed: a 3xx answers the login
// (its Set-Cookie headers included).
func (f *fetcher) login(ctx context.Context) (string, error) {
	ctx = context.WithValue(ctx, noFollowKey{}, true)
	var res *exchangeResult
	for attempt := 1; ; attempt++ {
		b, err := f.build(ctx, buildOpts{call: *f.sp.Login})
		if err != nil {
			return "", err
		}
		res, err = f.c.exchange(ctx, f.cr, f.sp.Timeout, b.req)
		f.c.count(f.sp.Name, func(s *NetworkStats) {
			s.Requests++
			if res != nil {
				s.Bytes += int64(len(res.body))
			}
		})
		f.logRequest(ctx, "login", b.method, b.req.URL.String(), 0, attempt, res, err)
		if err == nil && res.status >= 300 && res.status < 400 {
			break
		}
		if err == nil && f.sp.ErrorStatus[res.status] && f.sp.ErrorExpr != nil {
			// A refused login reported in the body (a SOAP Fault): not
			// retried.
			if root, rerr := readAs(res.body, f.sp.LoginFormat, ""); rerr == nil {
				if msg, eerr := f.responseError(root, res, pageState{}); eerr == nil && msg != "" {
					return "", fmt.Errorf("%w: login: %d %s: %s", ErrAuth, res.status, http.StatusText(res.status), msg)
				}
			}
		}
		wait, retry, ferr := f.classify(res, err, attempt)
		if !retry {
			if ferr != nil {
				if res != nil && res.status >= 400 && res.status < 500 {
					return "", fmt.Errorf("%w: login: %w", ErrAuth, ferr)
				}
				return "", fmt.Errorf("login: %w", ferr)
			}
			break
		}
		f.c.count(f.sp.Name, func(s *NetworkStats) { s.Retries++ })
		f.logRetry(ctx, "login", 0, attempt, wait, ferr)
		if err := f.c.sleep(ctx, wait); err != nil {
			return "", err
		}
	}
	root, err := readAs(res.body, f.sp.LoginFormat, "")
	if err != nil {
		return "", fmt.Errorf("%w: login response: %w", ErrAuth, err)
	}
	v, err := f.sp.SessionToken.Eval(responseVars(root, res, pageState{}))
	s := ""
	if err != nil && !missing(err) {
		return "", fmt.Errorf("%w: auth.token: %w", ErrAuth, err)
	}
	if err == nil {
		if s, err = spec.Text(v); err != nil {
			return "", fmt.Errorf("%w: auth.token: %w", ErrAuth, err)
		}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: auth.token found no session value in the login response (%d): %s", ErrAuth, res.status, snippet(res.body, f.secrets()))
	}
	f.cr.keep(s)
	return s, nil
}

// expired reports whether auth.expired says res, read with read, is the
// response of an expired session.
func (f *fetcher) expired(res *exchangeResult, read func([]byte) (gjson.Result, error)) bool {
	if f.sp.Expired == nil || read == nil {
		return false
	}
	root, err := read(res.body)
	if err != nil {
		return false
	}
	v, err := f.sp.Expired.Eval(responseVars(root, res, pageState{}))
	return err == nil && v == types.True
}

// readAs reads a body that is not a page: "json", "xml" (converted, with
// element the record element if any) or "text" (the body as a string).
func readAs(body []byte, format, element string) (gjson.Result, error) {
	switch format {
	case "xml":
		doc, err := extract.Read(body, spec.Response{Format: "xml", Element: element})
		return doc.Root, err
	case "text":
		b, _ := json.Marshal(string(body))
		return gjson.ParseBytes(b), nil
	}
	return extract.Parse(body)
}

// headerVars is the response's headers for expressions: the first value
// of each, except Set-Cookie, which holds every cookie set as name=value
// pairs joined by "; ", ready to send back in a Cookie header.
func headerVars(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			out[http.CanonicalHeaderKey(k)] = vs[0]
		}
	}
	if cookies := (&http.Response{Header: h}).Cookies(); len(cookies) > 0 {
		pairs := make([]string, 0, len(cookies))
		for _, c := range cookies {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		out["Set-Cookie"] = strings.Join(pairs, "; ")
	}
	return out
}
