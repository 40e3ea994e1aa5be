package fetch

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Mask replaces every secret in redacted text.
const Mask = "***"

// Redact replaces every occurrence of each secret in s, as written and
// URL-encoded, by ***. Empty secrets are ignored.
func Redact(s string, secrets ...string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	forms := make([]string, 0, 3*len(secrets))
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		forms = append(forms, sec)
		if q := url.QueryEscape(sec); q != sec {
			forms = append(forms, q)
		}
		if p := url.PathEscape(sec); p != sec {
			forms = append(forms, p)
		}
	}
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	return s
}

// redactBytes returns b unchanged (not copied) when it holds no secret.
func redactBytes(b []byte, secrets []string) []byte {
	if len(b) == 0 {
		return b
	}
	s := string(b)
	if r := Redact(s, secrets...); r != s {
		return []byte(r)
	}
	return b
}

// credentialHeaders always have their whole value masked.
var credentialHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

// redactHeader returns a copy of h with credential headers masked and
// secrets masked in every other value.
func redactHeader(h http.Header, secrets []string) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		c := make([]string, len(vs))
		for i, v := range vs {
			if credentialHeaders[http.CanonicalHeaderKey(k)] {
				c[i] = Mask
			} else {
				c[i] = Redact(v, secrets...)
			}
		}
		out[k] = c
	}
	return out
}
