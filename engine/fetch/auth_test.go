package fetch_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/fetch"
)

// tokenServer is an OAuth2 token endpoint plus the API, sharing the set
// of valid access tokens.
type tokenServer struct {
	mu       sync.Mutex
	issued   int
	valid    map[string]bool
	forms    []url.Values
	basic    []string // client id:secret from Basic auth
	lifetime int      // expires_in
}

func newTokenAPI(t *testing.T, n int) (*tokenServer, *mockAPI, string) {
	ts := &tokenServer{valid: map[string]bool{}, lifetime: 3600}
	m, srv := newMock(t, n)
	m.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path != "/token" {
			return false
		}
		_ = r.ParseForm()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.forms = append(ts.forms, r.PostForm)
		if id, sec, ok := r.BasicAuth(); ok {
			// RFC 6749 2.3.1: form-encoded, then Basic.
			id, _ = url.QueryUnescape(id)
			sec, _ = url.QueryUnescape(sec)
			ts.basic = append(ts.basic, id+":"+sec)
		}
		ts.issued++
		tok := fmt.Sprintf("tok-%d-Zq9", ts.issued)
		ts.valid[tok] = true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ts.lifetime})
		return true
	}
	m.auth = func(r *http.Request, _ []byte) bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return ts.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	}
	return ts, m, srv.URL
}

func (ts *tokenServer) revokeAll() {
	ts.mu.Lock()
	ts.valid = map[string]bool{}
	ts.mu.Unlock()
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued
}

func TestOAuth2ClientCredentials(t *testing.T) {
	ts, m, base := newTokenAPI(t, 20)
	sp := testSpec(t, "oauth")
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var nowMu sync.Mutex
	clock := func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	c := fetch.New(fetch.Options{Now: clock})
	defer c.Close()
	acct := fetch.Account{ID: "client-7", BaseURL: base, Extra: map[string]string{"token_url": base + "/token"},
		Secrets: map[string]string{"client_secret": "cs/8+x"}}
	fetchAll := func() (*collector, error) {
		var col collector
		err := c.Fetch(context.Background(), sp, acct, october, col.emit)
		return &col, err
	}

	// One token serves every page of several windows.
	for i := 0; i < 3; i++ {
		col, err := fetchAll()
		if err != nil {
			t.Fatal(err)
		}
		exactlyOnce(t, col.ids("records", "id"), m.allIDs())
	}
	if ts.count() != 1 {
		t.Errorf("got %d token requests for 3 windows, want 1", ts.count())
	}
	if got := ts.basic[0]; got != "client-7:cs/8+x" {
		t.Errorf("got client credentials %q, want client-7:cs/8+x", got)
	}
	if f := ts.forms[0]; f.Get("grant_type") != "client_credentials" || f.Get("scope") != "reports" || f.Has("client_secret") {
		t.Errorf("got token form %v, want grant_type client_credentials, scope reports, no secret in the body", f)
	}

	// A revoked token: one 401, a new token, the page again.
	ts.revokeAll()
	col, err := fetchAll()
	if err != nil {
		t.Fatal(err)
	}
	if ts.count() != 2 || col.pages[0].Attempts != 2 {
		t.Errorf("got %d token requests and %d attempts for page 1, want 2 and 2", ts.count(), col.pages[0].Attempts)
	}

	// An expired token is replaced before it is sent.
	nowMu.Lock()
	now = now.Add(time.Hour)
	nowMu.Unlock()
	before := len(m.requests())
	if _, err := fetchAll(); err != nil {
		t.Fatal(err)
	}
	if ts.count() != 3 {
		t.Errorf("got %d token requests after expiry, want 3", ts.count())
	}
	for _, r := range m.requests()[before:] {
		if r.url != "/token" && r.header.Get("Authorization") != "Bearer tok-3-Zq9" {
			t.Errorf("request %s sent %q, want the new token", r.url, r.header.Get("Authorization"))
		}
	}

	// A token the API keeps refusing: one refresh, then ErrAuth.
	m.auth = func(*http.Request, []byte) bool { return false }
	before = len(m.requests())
	_, err = fetchAll()
	if !errors.Is(err, fetch.ErrAuth) || !strings.Contains(err.Error(), "page 1: 401 Unauthorized") {
		t.Fatalf("got %v, want ErrAuth at page 1", err)
	}
	if got := len(m.requests()) - before; got != 3 || ts.count() != 4 {
		t.Errorf("got %d requests (%d tokens issued), want 2 API requests and 1 token request", got, ts.count())
	}
	if strings.Contains(err.Error(), "tok-") {
		t.Errorf("the error shows a token: %v", err)
	}
}

func TestOAuth2PasswordGrant(t *testing.T) {
	ts, m, base := newTokenAPI(t, 20)
	c := fetch.New(fetch.Options{})
	defer c.Close()
	acct := fetch.Account{ID: "a1", BaseURL: base,
		Extra:   map[string]string{"token_url": base + "/token", "user": "alice"},
		Secrets: map[string]string{"client_secret": "app-secret", "password": "pw-123"}}
	var col collector
	if err := c.Fetch(context.Background(), testSpec(t, "oauth_password"), acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, col.ids("records", "id"), m.allIDs())
	want := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw-123"},
		"client_id": {"app"}, "client_secret": {"app-secret"}}
	if got := ts.forms[0]; got.Encode() != want.Encode() {
		t.Errorf("got token form %v, want %v", got, want)
	}
	if len(ts.basic) != 0 {
		t.Errorf("got Basic client auth %v, want the credentials in the body", ts.basic)
	}
}

// A token endpoint refusing the client fails with ErrAuth and no API
// request.
func TestOAuth2TokenRefused(t *testing.T) {
	m, srv := newMock(t, 5)
	m.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","secret":"cs-XYZ"}`))
		return true
	}
	c := fetch.New(fetch.Options{})
	defer c.Close()
	acct := fetch.Account{ID: "c1", BaseURL: srv.URL, Extra: map[string]string{"token_url": srv.URL + "/token"},
		Secrets: map[string]string{"client_secret": "cs-XYZ"}}
	err := c.Fetch(context.Background(), testSpec(t, "oauth"), acct, october, func(fetch.Page) error { return nil })
	want := `oauth account c1 window 2026-10-01..2026-10-31 page 1: authentication failed: token request: 401 Unauthorized: {"error":"invalid_client","secret":"***"}`
	if !errors.Is(err, fetch.ErrAuth) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if len(m.requests()) != 1 {
		t.Errorf("got %d requests, want the token request only", len(m.requests()))
	}
}

// HMAC headers are computed per request from the method, path and date.
func TestHMACHeaders(t *testing.T) {
	const key = "hmac-key-42"
	m, srv := newMock(t, 60)
	m.auth = func(r *http.Request, _ []byte) bool {
		date := r.Header.Get("X-Date")
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(r.Method + ":" + r.URL.EscapedPath() + ":" + date))
		return date != "" && r.Header.Get("X-Signature") == hex.EncodeToString(mac.Sum(nil))
	}
	c := fetch.New(fetch.Options{})
	defer c.Close()
	var col collector
	acct := fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"key": key}}
	if err := c.Fetch(context.Background(), testSpec(t, "signed"), acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, col.ids("records", "id"), m.allIDs())
	reqs := m.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		want := fmt.Sprintf(`{"from":"2026-10-01T00:00:00Z","page":%d}`, i+1)
		if r.method != http.MethodPost || string(r.body) != want || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: got %s %s (%s), want POST %s as JSON", i, r.method, r.body, r.header.Get("Content-Type"), want)
		}
	}
	if string(col.pages[1].RequestBody) != `{"from":"2026-10-01T00:00:00Z","page":2}` {
		t.Errorf("page 2 request body %q", col.pages[1].RequestBody)
	}
}

// Basic auth against the sandbox is covered by the Impact tests; bearer
// in a header by CJ; api_key and bearer in the query by the pagination
// tests.
