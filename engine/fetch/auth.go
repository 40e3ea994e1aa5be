package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	case "", "none", "session":
		// A session travels where the spec's templates put session.token.
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

// requestToken posts the grant to the token endpoint. For the
// refresh_token grant the refresh token sent is the newest known: one
// rotated earlier in this run, else the stored one, else the
// configured one; a stored one that is refused is followed by one try
// of the configured one. A new refresh token in the response is kept
// and stored.
func (f *fetcher) requestToken(ctx context.Context) (*oauthToken, error) {
	a := f.sp.Auth
	if a.Grant != "refresh_token" {
		res, err := f.postToken(ctx, "")
		if err != nil {
			return nil, err
		}
		return f.readToken(ctx, res, "")
	}
	rt, fromStore, err := f.refreshToken(ctx)
	if err != nil {
		return nil, err
	}
	res, err := f.postToken(ctx, rt)
	if err != nil && fromStore && errors.Is(err, ErrAuth) {
		configured, cerr := f.render(f.sp.AuthParams["refresh_token"], f.requestVars(pageState{}, f.c.now(), map[string]string{"method": http.MethodPost}, nil))
		if cerr == nil && configured != "" && configured != rt {
			f.c.log.LogAttrs(ctx, slog.LevelWarn, "stored refresh token refused; trying the configured one",
				slog.String("network", f.sp.Name), slog.String("account", f.redact(f.acct.ID)))
			rt = configured
			res, err = f.postToken(ctx, rt)
		}
	}
	if err != nil {
		return nil, err
	}
	return f.readToken(ctx, res, rt)
}

// refreshToken returns the refresh token to send, and whether it came
// from the token store.
func (f *fetcher) refreshToken(ctx context.Context) (string, bool, error) {
	cr := f.cr
	cr.mu.Lock()
	rt := cr.refresh[f.acct.ID]
	cr.mu.Unlock()
	if rt != "" {
		return rt, false, nil
	}
	if f.c.tokens != nil {
		stored, ok, err := f.c.tokens.Load(ctx, TokenKey(f.sp.Name, f.acct.ID))
		if err != nil {
			return "", false, fmt.Errorf("%w: loading the refresh token: %w", ErrAuth, err)
		}
		if ok {
			cr.keep(stored)
			return stored, true, nil
		}
	}
	configured, err := f.render(f.sp.AuthParams["refresh_token"], f.requestVars(pageState{}, f.c.now(), map[string]string{"method": http.MethodPost}, nil))
	if err != nil {
		return "", false, fmt.Errorf("auth.refresh_token: %w", err)
	}
	if configured == "" {
		return "", false, fmt.Errorf("%w: auth.refresh_token is empty", ErrAuth)
	}
	return configured, false, nil
}

// postToken sends the token request, refresh being the refresh token of
// the refresh_token grant, and returns the successful response.
func (f *fetcher) postToken(ctx context.Context, refresh string) (*exchangeResult, error) {
	sp := f.sp
	a := sp.Auth
	vars := f.requestVars(pageState{}, f.c.now(), map[string]string{"method": http.MethodPost}, nil)
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
		if sp.AuthParams[name] == nil || name == "refresh_token" {
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
	if a.Grant == "refresh_token" {
		form.Set("refresh_token", refresh)
	} else if sp.AuthParams["refresh_token"] != nil {
		v, err := field("refresh_token")
		if err != nil {
			return nil, err
		}
		if v != "" {
			form.Set("refresh_token", v)
		}
	}
	for _, p := range sp.TokenParams {
		v, err := f.render(p.T, vars)
		if err != nil {
			return nil, fmt.Errorf("auth.params.%s: %w", p.Name, err)
		}
		form.Set(p.Name, v)
	}
	if a.ClientAuth == "body" {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	u, err := url.Parse(tokenURL)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("auth.token_url %q is not an absolute URL", f.redact(tokenURL))
	}
	sendURL := f.origins.apply(u).String()
	body, ctype := form.Encode(), "application/x-www-form-urlencoded"
	if a.TokenBody == "json" {
		obj := make(map[string]string, len(form))
		for k := range form {
			obj[k] = form.Get(k)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("token request: %w", err)
		}
		body, ctype = string(b), "application/json"
	}
	var res *exchangeResult
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sendURL, strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("token request: %w", err)
		}
		req.Header.Set("Content-Type", ctype)
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
		f.logRequest(ctx, "token request", http.MethodPost, sendURL, 0, attempt, res, err)
		wait, retry, ferr := f.classify(res, err, attempt)
		if !retry {
			if ferr != nil {
				if res != nil && res.status >= 400 && res.status < 500 {
					return nil, fmt.Errorf("%w: token request: %w", ErrAuth, ferr)
				}
				return nil, fmt.Errorf("token request: %w", ferr)
			}
			return res, nil
		}
		f.c.count(sp.Name, func(s *NetworkStats) { s.Retries++ })
		f.logRetry(ctx, "token request", 0, attempt, wait, ferr)
		if err := f.c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// readToken reads a token response; sent is the refresh token the
// request carried (refresh_token grant).
func (f *fetcher) readToken(ctx context.Context, res *exchangeResult, sent string) (*oauthToken, error) {
	root := gjson.ParseBytes(res.body)
	access := root.Get("access_token").String()
	if !gjson.ValidBytes(res.body) || access == "" {
		return nil, fmt.Errorf("%w: token response has no access_token: %s", ErrAuth, snippet(res.body, f.secrets()))
	}
	t := &oauthToken{access: access}
	rotated := root.Get("refresh_token").String()
	f.cr.keep(access, rotated)
	if f.sp.Auth.Grant == "refresh_token" && rotated != "" && rotated != sent {
		f.rotated(ctx, rotated)
	} else if sent != "" {
		f.cr.mu.Lock()
		f.cr.refresh[f.acct.ID] = sent
		f.cr.mu.Unlock()
	}
	if secs := expiresIn(root.Get("expires_in")); secs > 0 {
		life := time.Duration(secs) * time.Second
		skew := min(tokenSkew, life/10)
		t.expires = f.c.now().Add(life - skew)
	}
	return t, nil
}

// rotated keeps a new refresh token for the rest of the run and stores
// it for the next. A failed save is logged (the run goes on with the new
// token; the next run would start from an older one).
func (f *fetcher) rotated(ctx context.Context, token string) {
	f.cr.mu.Lock()
	f.cr.refresh[f.acct.ID] = token
	f.cr.mu.Unlock()
	attrs := []slog.Attr{slog.String("network", f.sp.Name), slog.String("account", f.redact(f.acct.ID))}
	if f.c.tokens == nil {
		f.c.log.LogAttrs(ctx, slog.LevelWarn, "the token endpoint rotated the refresh token and no token store is configured: the next run will need a new one", attrs...)
		return
	}
	if err := f.c.tokens.Save(ctx, TokenKey(f.sp.Name, f.acct.ID), token); err != nil {
		f.c.log.LogAttrs(ctx, slog.LevelError, "could not store the rotated refresh token",
			append(attrs, slog.String("error", f.redact(err.Error())))...)
	}
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
