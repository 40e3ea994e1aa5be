package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		s       string
		secrets []string
		want    string
	}{
		{"https://x/a?key=s3cr3t&b=1", []string{"s3cr3t"}, "https://x/a?key=***&b=1"},
		{"key=a%2Bb%2Fc", []string{"a+b/c"}, "key=***"},
		{"/path/a+b%2Fc/x", []string{"a+b/c"}, "/path/***/x"},
		{"token abcdef and abc", []string{"abc", "abcdef"}, "token *** and ***"},
		{"nothing here", []string{"", "zzz"}, "nothing here"},
		{"", []string{"x"}, ""},
	}
	for _, tt := range tests {
		if got := fetch.Redact(tt.s, tt.secrets...); got != tt.want {
			t.Errorf("Redact(%q, %q): got %q, want %q", tt.s, tt.secrets, got, tt.want)
		}
	}
}

// leaks returns where any form of a secret appears in s.
func leaks(s string, secrets []string) []string {
	var out []string
	for _, sec := range secrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			if strings.Contains(s, form) {
				out = append(out, form)
			}
		}
	}
	return out
}

func pageText(p fetch.Page) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %v %v ", p.Method, p.URL, p.RequestBody, p.RequestHeaders, p.Header)
	b.Write(p.Body)
	return b.String()
}

// No secret value reaches a page, an error or a log line, in any of the
// ways secrets travel: query parameters, headers, Basic auth, OAuth2
// tokens, request bodies, and an error body echoing the key.
func TestNoSecretLeaks(t *testing.T) {
	const (
		apiKey    = "sk_live+Key/42=="
		clientSec = "cl1ent-s3cret"
		authToken = "tK7pQ2vX9mZ4cR8wL1nB6hF3jD5sG0aY"
	)
	secrets := []string{apiKey, clientSec, authToken, "tok-1-Zq9", "tok-2-Zq9"}
	logs := &syncBuffer{}
	c := fetch.New(fetch.Options{Logger: debugLogger(logs)})
	defer c.Close()
	var texts []string
	var pages []fetch.Page
	run := func(name string, f func(emit func(fetch.Page) error) error) {
		err := f(func(p fetch.Page) error { pages = append(pages, p); return nil })
		if err != nil {
			texts = append(texts, name+": "+err.Error())
		}
	}

	// API key in the query, pages by offset; then the key refused with
	// a body that quotes it.
	m, srv := newMock(t, 25)
	run("api key", func(emit func(fetch.Page) error) error {
		return c.Fetch(context.Background(), testSpec(t, "offsets"), fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"key": apiKey}}, october, emit)
	})
	m.auth = func(r *http.Request, _ []byte) bool { return false }
	m.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":"key %s is not allowed", "url": %q}`, r.URL.Query().Get("api_key"), r.URL.String())
		return true
	}
	run("refused key", func(emit func(fetch.Page) error) error {
		err := c.Fetch(context.Background(), testSpec(t, "offsets"), fetch.Account{ID: "a1", BaseURL: srv.URL, Secrets: map[string]string{"key": apiKey}}, october, emit)
		if !errors.Is(err, fetch.ErrAuth) {
			t.Errorf("refused key: got %v, want ErrAuth", err)
		}
		return err
	})

	// OAuth2: the client secret in Basic auth, tokens in headers, a
	// revoked token refreshed.
	ts, _, base := newTokenAPI(t, 10)
	oauthAcct := fetch.Account{ID: "client-1", BaseURL: base, Extra: map[string]string{"token_url": base + "/token"}, Secrets: map[string]string{"client_secret": clientSec}}
	run("oauth", func(emit func(fetch.Page) error) error {
		return c.Fetch(context.Background(), testSpec(t, "oauth"), oauthAcct, october, emit)
	})
	ts.revokeAll()
	run("oauth refresh", func(emit func(fetch.Page) error) error {
		return c.Fetch(context.Background(), testSpec(t, "oauth"), oauthAcct, october, emit)
	})

	// Basic auth against the sandbox.
	s, sbase := newSandbox(t, sandbox.Options{})
	acct := sandboxAccounts(s, sbase, sandbox.NetworkImpact)[0]
	acct.Secrets = map[string]string{"auth_token": authToken}
	sp := testSpec(t, "impact")
	w := history(t, sp, s)[1]
	run("basic", func(emit func(fetch.Page) error) error {
		return c.Fetch(context.Background(), sp, acct, w, emit)
	})

	if len(pages) < 6 || len(texts) < 1 {
		t.Fatalf("got %d pages and %d errors: the scenarios did not run", len(pages), len(texts))
	}
	for _, p := range pages {
		texts = append(texts, pageText(p))
		if a := p.RequestHeaders.Get("Authorization"); a != "" && a != fetch.Mask {
			t.Errorf("page %s: Authorization %q, want %s", p.URL, a, fetch.Mask)
		}
	}
	texts = append(texts, logs.String())
	for _, txt := range texts {
		if l := leaks(txt, secrets); len(l) > 0 {
			t.Errorf("secret %q leaked in %.300s", l, txt)
		}
	}
	if !strings.Contains(pages[0].URL, "api_key=***") {
		t.Errorf("page URL %q: want the key masked", pages[0].URL)
	}
	if !strings.Contains(logs.String(), `"level":"DEBUG","msg":"request"`) || !strings.Contains(logs.String(), `"level":"WARN","msg":"retrying request"`) {
		t.Errorf("want debug request and warn retry records, got:\n%s", logs)
	}
}
