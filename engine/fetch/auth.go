package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// authHeaders sets the headers of header-borne auth kinds.
func (f *fetcher) authHeaders(req *http.Request, vars map[string]any, token string) error {
	sp := f.sp
	a := sp.Auth
	switch a.Kind {
	case "", "none":
	case "api_key":
		if a.In == "query" {
			return nil
		}
		v, err := f.render(sp.AuthParams["value"], vars)
		if err != nil {
			return fmt.Errorf("auth.value: %w", err)
		}
		req.Header.Set(a.Name, v)
	case "bearer":
		if a.In == "query" {
			return nil
		}
		v, err := f.render(sp.AuthParams["token"], vars)
		if err != nil {
			return fmt.Errorf("auth.token: %w", err)
		}
		if a.Scheme != "" {
			v = a.Scheme + " " + v
		}
		req.Header.Set("Authorization", v)
	case "basic":
		user, err := f.render(sp.AuthParams["username"], vars)
		if err != nil {
			return fmt.Errorf("auth.username: %w", err)
		}
		pass, err := f.render(sp.AuthParams["password"], vars)
		if err != nil {
			return fmt.Errorf("auth.password: %w", err)
		}
		req.SetBasicAuth(user, pass)
	case "oauth2":
		req.Header.Set("Authorization", "Bearer "+token)
	case "hmac":
		for _, p := range sp.AuthHeaders {
			v, err := f.render(p.T, vars)
			if err != nil {
				return fmt.Errorf("auth.headers.%s: %w", p.Name, err)
			}
			req.Header.Set(p.Name, v)
		}
	default:
		return fmt.Errorf("auth kind %q: %w", a.Kind, ErrUnsupported)
	}
	return nil
}

// secretAuthFields are the auth templates whose rendered values are
// masked like secrets (a token may be composed of several secrets).
var secretAuthFields = []string{"value", "token", "password", "client_secret", "refresh_token"}

// oauthToken is an access token and when to stop using it.
type oauthToken struct {
	access  string
	expires time.Time // zero: until refused
}

// tokenSkew is how long before its announced expiry a token is replaced.
const tokenSkew = 30 * time.Second

// accessToken returns the credential's OAuth2 access token, requesting
// one when there is none, it has expired, or refused is the token the
// API just refused.
func (f *fetcher) accessToken(ctx context.Context, refused string) (string, error) {
	cr := f.cr
	cr.tokenMu.Lock()
	defer cr.tokenMu.Unlock()
	cr.mu.Lock()
	t := cr.token
	cr.mu.Unlock()
	if t != nil && t.access != refused && (t.expires.IsZero() || f.c.now().Before(t.expires)) {
		return t.access, nil
	}
	t, err := f.requestToken(ctx)
	if err != nil {
		return "", err
	}
	cr.mu.Lock()
	cr.token = t
	cr.mu.Unlock()
	return t.access, nil
}

// requestToken posts the grant to the token endpoint.
func (f *fetcher) requestToken(ctx context.Context) (*oauthToken, error) {
	sp := f.sp
	a := sp.Auth
	vars := f.requestVars(pageState{}, f.c.now(), map[string]string{"method": http.MethodPost})
	field := func(name string) (string, error) {
		v, err := f.render(sp.AuthParams[name], vars)
		if err != nil {
			return "", fmt.Errorf("auth.%s: %w", name, err)
		}
		return v, nil
	}
	tokenURL, err := field("token_url")
	if err != nil {
		return nil, err
	}
	id, err := field("client_id")
	if err != nil {
		return nil, err
	}
	secret, err := field("client_secret")
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {a.Grant}}
	for _, name := range []string{"scope", "username", "password", "refresh_token"} {
		if sp.AuthParams[name] == nil {
			continue
		}
		v, err := field(name)
		if err != nil {
			return nil, err
		}
		if v != "" {
			form.Set(name, v)
		}
	}
	for k, v := range a.Params {
		form.Set(k, v)
	}
	if a.ClientAuth == "body" {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	if u, err := url.Parse(tokenURL); err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("auth.token_url %q is not an absolute URL", f.redact(tokenURL))
	}
	body := form.Encode()
	var res *exchangeResult
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("token request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "afflake")
		if a.ClientAuth != "body" {
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		}
		res, err = f.c.pooled(ctx, f.sp.Timeout, req)
		f.c.count(sp.Name, func(s *NetworkStats) {
			s.Requests++
			if res != nil {
				s.Bytes += int64(len(res.body))
			}
		})
		f.logRequest(ctx, "token request", http.MethodPost, tokenURL, 0, attempt, res, err)
		wait, retry, ferr := f.classify(res, err, attempt)
		if !retry {
			if ferr != nil {
				if res != nil && res.status >= 400 && res.status < 500 {
					return nil, fmt.Errorf("%w: token request: %w", ErrAuth, ferr)
				}
				return nil, fmt.Errorf("token request: %w", ferr)
			}
			break
		}
		f.c.count(sp.Name, func(s *NetworkStats) { s.Retries++ })
		f.logRetry(ctx, "token request", 0, attempt, wait, ferr)
		if err := f.c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	root := gjson.ParseBytes(res.body)
	access := root.Get("access_token").String()
	if !gjson.ValidBytes(res.body) || access == "" {
		return nil, fmt.Errorf("%w: token response has no access_token: %s", ErrAuth, snippet(res.body, f.secrets()))
	}
	t := &oauthToken{access: access}
	f.cr.mu.Lock()
	f.cr.tokens = append(f.cr.tokens, access)
	if r := root.Get("refresh_token").String(); r != "" {
		f.cr.tokens = append(f.cr.tokens, r)
	}
	f.cr.mu.Unlock()
	if secs := expiresIn(root.Get("expires_in")); secs > 0 {
		life := time.Duration(secs) * time.Second
		skew := min(tokenSkew, life/10)
		t.expires = f.c.now().Add(life - skew)
	}
	return t, nil
}

// expiresIn reads expires_in, a number or a numeric string.
func expiresIn(v gjson.Result) int64 {
	switch v.Type {
	case gjson.Number:
		return v.Int()
	case gjson.String:
		n, _ := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64)
		return n
	}
	return 0
}
