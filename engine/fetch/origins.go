package fetch

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/afflake/afflake/engine/spec"
)

// origins maps real origins ("https://auth.example.com") to the origin,
// and optional path prefix, requests are sent to instead.
type origins map[string]*url.URL

// parseOrigins checks an account's Origins.
func parseOrigins(m map[string]string) (origins, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(origins, len(m))
	for from, to := range m {
		fu, err := url.Parse(from)
		if err != nil || !isAbsURL(from) || fu.Host == "" || strings.Trim(fu.Path, "/") != "" || fu.RawQuery != "" {
			return nil, fmt.Errorf("account origins: %q is not an origin such as https://api.example.com", from)
		}
		tu, err := url.Parse(to)
		if err != nil || !isAbsURL(to) || tu.Host == "" || tu.RawQuery != "" || tu.Fragment != "" {
			return nil, fmt.Errorf("account origins: %q is not an http(s) origin with an optional path", to)
		}
		tu.Path = strings.TrimRight(tu.Path, "/")
		tu.RawPath = ""
		out[originOf(fu)] = tu
	}
	return out, nil
}

// originOf returns u's origin, as spec.Origin makes it.
func originOf(u *url.URL) string { return spec.Origin(u.Scheme, u.Host) }

// apply returns the URL to send for u: u itself when its origin is not
// mapped, else a copy on the replacement origin, under its path prefix.
func (o origins) apply(u *url.URL) *url.URL {
	if len(o) == 0 {
		return u
	}
	to, ok := o[originOf(u)]
	if !ok {
		return u
	}
	nu := *u
	nu.Scheme, nu.Host = to.Scheme, to.Host
	if to.Path != "" {
		nu.Path = to.Path + u.Path
		if u.RawPath != "" {
			nu.RawPath = to.EscapedPath() + u.RawPath
		}
	}
	return &nu
}
