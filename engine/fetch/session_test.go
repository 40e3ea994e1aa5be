package fetch_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/fetch"
)

// A form login answered by a redirect setting cookies: the redirect is
// not followed, the cookies go back in a Cookie header, one login serves
// several windows, and a 401 renews the session once.
func TestCookieSession(t *testing.T) {
	m, srv := newMock(t, 25)
	var mu sync.Mutex
	logins, valid := 0, ""
	m.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		switch r.URL.Path {
		case "/login":
			_ = r.ParseForm()
			mu.Lock()
			defer mu.Unlock()
			logins++
			if r.Method != http.MethodPost || r.PostForm.Get("user") != "u1" || r.PostForm.Get("password") != "pw;1" {
				w.WriteHeader(http.StatusUnauthorized)
				return true
			}
			valid = fmt.Sprintf("sid-%d-Kx", logins)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: valid, Path: "/", HttpOnly: true, Expires: time.Now().Add(time.Hour)})
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: "en"})
			http.Redirect(w, r, "/home", http.StatusFound)
			return true
		case "/home":
			t.Errorf("the login's redirect was followed")
			return true
		}
		return false
	}
	m.auth = func(r *http.Request, _ []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		return r.Header.Get("Cookie") == "sid="+valid+"; lang=en"
	}
	var logs syncBuffer
	c := fetch.New(fetch.Options{Logger: debugLogger(&logs)})
	defer c.Close()
	acct := fetch.Account{ID: "u1", BaseURL: srv.URL, Secrets: map[string]string{"password": "pw;1"}}
	sp := testSpec(t, "cookie")
	for i := 0; i < 2; i++ {
		var col collector
		if err := c.Fetch(context.Background(), sp, acct, october, col.emit); err != nil {
			t.Fatal(err)
		}
		exactlyOnce(t, col.ids("records", "id"), m.allIDs())
		if got := col.pages[0].RequestHeaders.Get("Cookie"); got != fetch.Mask {
			t.Errorf("page Cookie header %q, want it masked", got)
		}
	}
	if logins != 1 {
		t.Errorf("got %d logins for 2 windows, want 1", logins)
	}

	// The server forgets the session: 401, one login, the page again.
	mu.Lock()
	valid = "gone"
	mu.Unlock()
	var col collector
	if err := c.Fetch(context.Background(), sp, acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	if logins != 2 || col.pages[0].Attempts != 2 {
		t.Errorf("got %d logins and %d attempts, want 2 and 2", logins, col.pages[0].Attempts)
	}

	// Wrong credentials: ErrAuth from the login, no page requested.
	before := len(m.requests())
	bad := fetch.Account{ID: "u1", BaseURL: srv.URL, Secrets: map[string]string{"password": "nope"}}
	err := c.Fetch(context.Background(), sp, bad, october, col.emit)
	if !errors.Is(err, fetch.ErrAuth) || !strings.Contains(err.Error(), "login: 401 Unauthorized") {
		t.Errorf("got %v, want ErrAuth from the login", err)
	}
	if n := len(m.requests()) - before; n != 1 {
		t.Errorf("got %d requests, want the login only", n)
	}
	for _, s := range []string{"sid-1-Kx", "sid-2-Kx", "pw;1", "pw%3B1"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("%q found in the logs", s)
		}
	}
}

// refreshServer is a token endpoint rotating single-use refresh tokens,
// served under /auth, plus the API.
type refreshServer struct {
	mu     sync.Mutex
	next   int
	live   map[string]bool // refresh tokens not used yet
	access map[string]bool
	sent   []string // refresh tokens received
	bodies []map[string]string
	ctypes []string
}

func newRefreshAPI(t *testing.T, n int, first string) (*refreshServer, *mockAPI, string) {
	rs := &refreshServer{live: map[string]bool{first: true}, access: map[string]bool{}}
	m, srv := newMock(t, n)
	m.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path != "/auth/oauth/token" {
			return false
		}
		var body map[string]string
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		rs.mu.Lock()
		defer rs.mu.Unlock()
		rs.bodies = append(rs.bodies, body)
		rs.ctypes = append(rs.ctypes, r.Header.Get("Content-Type"))
		rt := body["refresh_token"]
		rs.sent = append(rs.sent, rt)
		w.Header().Set("Content-Type", "application/json")
		if body["grant_type"] != "refresh_token" || body["client_secret"] != "cs-9" || !rs.live[rt] {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return true
		}
		delete(rs.live, rt)
		rs.next++
		nrt := fmt.Sprintf("rt-%d-Wv", rs.next)
		rs.live[nrt] = true
		at := fmt.Sprintf("at-%d-Wv", rs.next)
		rs.access[at] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": nrt, "expires_in": 3600})
		return true
	}
	m.auth = func(r *http.Request, _ []byte) bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return rs.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	}
	return rs, m, srv.URL
}

func (rs *refreshServer) lastSent() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return strings.Join(rs.sent, " ")
}

// The refresh_token grant with rotating refresh tokens: the token
// endpoint, on another host, gets a JSON body; each new refresh token is
// stored and the next run starts from it; a stale stored token falls
// back to the configured one.
func TestRefreshTokenRotation(t *testing.T) {
	rs, m, base := newRefreshAPI(t, 15, "rt-0-Wv")
	dir := filepath.Join(t.TempDir(), "tokens")
	store := &fetch.FileTokenStore{Dir: dir}
	sp := testSpec(t, "refresh")
	acct := func(rt string) fetch.Account {
		return fetch.Account{ID: "371904", BaseURL: base,
			Origins: map[string]string{"https://auth.example.test": base + "/auth"},
			Secrets: map[string]string{"client_secret": "cs-9", "refresh_token": rt}}
	}
	var logs syncBuffer
	run := func(a fetch.Account, st fetch.TokenStore, windows int) error {
		c := fetch.New(fetch.Options{Tokens: st, Logger: debugLogger(&logs)})
		defer c.Close()
		for i := 0; i < windows; i++ {
			var col collector
			if err := c.Fetch(context.Background(), sp, a, october, col.emit); err != nil {
				return err
			}
			exactlyOnce(t, col.ids("records", "id"), m.allIDs())
		}
		return nil
	}
	stored := func() string {
		tok, ok, err := store.Load(context.Background(), fetch.TokenKey("refresh", "371904"))
		if err != nil || !ok {
			t.Fatalf("store: %q %v %v", tok, ok, err)
		}
		return tok
	}

	// Run 1: the configured token, once for two windows; its successor stored.
	if err := run(acct("rt-0-Wv"), store, 2); err != nil {
		t.Fatal(err)
	}
	if got := rs.lastSent(); got != "rt-0-Wv" {
		t.Errorf("sent refresh tokens %q, want rt-0-Wv once", got)
	}
	if got := stored(); got != "rt-1-Wv" {
		t.Errorf("stored %q, want rt-1-Wv", got)
	}
	want := map[string]string{"grant_type": "refresh_token", "refresh_token": "rt-0-Wv", "client_id": "app-1", "client_secret": "cs-9", "redirect_uri": "https://example.test/cb"}
	if got, _ := json.Marshal(rs.bodies[0]); string(got) != mustJSON(want) || rs.ctypes[0] != "application/json" {
		t.Errorf("token request %s (%s), want %s as JSON", got, rs.ctypes[0], mustJSON(want))
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != "refresh%2F371904.json" {
		t.Fatalf("got token files %v, want refresh%%2F371904.json", files)
	}
	if fi, _ := files[0].Info(); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}

	// Run 2: the configured token is spent; the stored one is used.
	if err := run(acct("rt-0-Wv"), store, 1); err != nil {
		t.Fatal(err)
	}
	if got := rs.lastSent(); got != "rt-0-Wv rt-1-Wv" || stored() != "rt-2-Wv" {
		t.Errorf("sent %q, stored %q; want rt-1-Wv sent and rt-2-Wv stored", got, stored())
	}

	// Run 3: a stale stored token is refused; a fresh configured one works.
	if err := store.Save(context.Background(), fetch.TokenKey("refresh", "371904"), "rt-stale-Wv"); err != nil {
		t.Fatal(err)
	}
	if err := run(acct("rt-2-Wv"), store, 1); err != nil {
		t.Fatal(err)
	}
	if got := rs.lastSent(); !strings.HasSuffix(got, "rt-stale-Wv rt-2-Wv") || stored() != "rt-3-Wv" {
		t.Errorf("sent %q, stored %q; want the stale one then rt-2-Wv, rt-3-Wv stored", got, stored())
	}

	// Without a store the run works, and warns that the rotated token is
	// lost; within the run, a refused access token is renewed with the
	// rotated refresh token.
	c := fetch.New(fetch.Options{Logger: debugLogger(&logs)})
	for i := 0; i < 2; i++ {
		var col collector
		if err := c.Fetch(context.Background(), sp, acct("rt-3-Wv"), october, col.emit); err != nil {
			t.Fatal(err)
		}
		rs.mu.Lock()
		rs.access = map[string]bool{}
		rs.mu.Unlock()
	}
	c.Close()
	if got := rs.lastSent(); !strings.HasSuffix(got, "rt-3-Wv rt-4-Wv") {
		t.Errorf("sent %q, want rt-3-Wv then the rotated rt-4-Wv", got)
	}
	if !strings.Contains(logs.String(), "no token store is configured") {
		t.Errorf("no warning about the missing token store in the logs")
	}

	// Both refused: ErrAuth, no token in the error or the logs.
	err := run(acct("rt-0-Wv"), store, 1)
	if !errors.Is(err, fetch.ErrAuth) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("got %v, want ErrAuth invalid_grant", err)
	}
	for i := 0; i <= 5; i++ {
		for _, tok := range []string{fmt.Sprintf("rt-%d-Wv", i), fmt.Sprintf("at-%d-Wv", i)} {
			if strings.Contains(logs.String(), tok) || (err != nil && strings.Contains(err.Error(), tok)) {
				t.Errorf("%s found in the logs or the error", tok)
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestFileTokenStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "tokens")
	s := &fetch.FileTokenStore{Dir: dir}
	if tok, ok, err := s.Load(ctx, "n/1"); tok != "" || ok || err != nil {
		t.Errorf("Load of a missing key = %q %v %v, want nothing", tok, ok, err)
	}
	for _, kv := range [][2]string{{"n/1", "one"}, {"n%2F1", "two"}, {"../x", "three"}, {"n/1", "four"}} {
		if err := s.Save(ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range map[string]string{"n/1": "four", "n%2F1": "two", "../x": "three"} {
		if tok, ok, err := s.Load(ctx, key); tok != want || !ok || err != nil {
			t.Errorf("Load(%q) = %q %v %v, want %q", key, tok, ok, err, want)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 3 {
		t.Errorf("got %d files, want 3 (no temporary file left)", len(files))
	}
	for _, f := range files {
		if fi, _ := f.Info(); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "n%2F1.json"), []byte(`{"key":"other","refresh_token":"secret-xyz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(ctx, "n/1"); err == nil || strings.Contains(err.Error(), "secret-xyz") {
		t.Errorf("Load of another key's file = %v, want an error without the token", err)
	}
}

// A ShareASale-style signature: hex(SHA256(token:date:action:secret))
// over the RFC 1123 date sent with it, checked by the server; the XML
// response's records are read.
func TestShareASaleSignature(t *testing.T) {
	const token, secret = "tok-77", "sec/88"
	var mu sync.Mutex
	checked := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		date := r.Header.Get("x-ShareASale-Date")
		sum := sha256.Sum256([]byte(token + ":" + date + ":" + r.URL.Query().Get("action") + ":" + secret))
		at, err := http.ParseTime(date)
		if err != nil || time.Since(at).Abs() > time.Minute || r.Header.Get("x-ShareASale-Authentication") != hex.EncodeToString(sum[:]) ||
			r.URL.Query().Get("token") != token || r.URL.Query().Get("dateStart") != "10/01/2026" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "Error Code 4002: authentication failed")
			return
		}
		mu.Lock()
		checked++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><activitydetails>`+
			`<activity><transid>88117102</transid><transdate>11/03/2026 09:14:02 AM</transdate><transamount>129.99</transamount><commission>6.50</commission></activity>`+
			`<activity><transid>88117103</transid><transdate>11/03/2026 10:01:55 AM</transdate><transamount>15.00</transamount><commission>0.75</commission></activity>`+
			`</activitydetails>`)
	}))
	defer srv.Close()
	sp := testSpec(t, "shareasale")
	c := fetch.New(fetch.Options{})
	defer c.Close()
	var col collector
	acct := fetch.Account{ID: "1017", BaseURL: srv.URL, Secrets: map[string]string{"token": token, "api_secret": secret}}
	if err := c.Fetch(context.Background(), sp, acct, october, col.emit); err != nil {
		t.Fatal(err)
	}
	if checked != 1 {
		t.Errorf("the server accepted %d requests, want 1", checked)
	}
	exactlyOnce(t, recordIDs(t, sp, col.pages, "transid"), []string{"88117102", "88117103"})
	if got := col.pages[0].RequestHeaders.Get("x-ShareASale-Authentication"); len(got) != 64 {
		t.Errorf("signature header %q, want 64 hex digits (a digest, not a secret)", got)
	}

	// A wrong secret: the server's 403 is an authentication error.
	acct.Secrets = map[string]string{"token": token, "api_secret": "wrong"}
	err := c.Fetch(context.Background(), sp, acct, october, col.emit)
	if !errors.Is(err, fetch.ErrAuth) || !strings.Contains(err.Error(), "403 Forbidden: Error Code 4002") {
		t.Errorf("got %v, want ErrAuth 403", err)
	}
}
