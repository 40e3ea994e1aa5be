package fetch

import (
	"net/http"
	"testing"
	"time"
)

func TestLinkTarget(t *testing.T) {
	tests := []struct {
		header, rel, want string
	}{
		{`<https://api.x/items?page=2>; rel="next"`, "next", "https://api.x/items?page=2"},
		{`<https://api.x/items?page=9>; rel="last", <https://api.x/items?page=2>; rel="next"`, "next", "https://api.x/items?page=2"},
		{`</items?page=2>; title="a, b; c"; rel="prev next"`, "next", "/items?page=2"},
		{`</items?page=2>; REL=next`, "next", "/items?page=2"},
		{`</items?page=1>; rel="prev"`, "next", ""},
		{`</items?page=3>; rel="nextpage"`, "next", ""},
		{`garbage`, "next", ""},
		{``, "next", ""},
	}
	for _, tt := range tests {
		if got := linkTarget(tt.header, tt.rel); got != tt.want {
			t.Errorf("linkTarget(%q, %q): got %q, want %q", tt.header, tt.rel, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := retryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q): got %v %v, want %v %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt, limit := range map[int]time.Duration{1: BackoffBase, 2: 2 * BackoffBase, 3: 4 * BackoffBase, 10: BackoffCap, 40: BackoffCap} {
		for i := 0; i < 200; i++ {
			if d := backoff(attempt); d < 0 || d > limit {
				t.Fatalf("backoff(%d) = %v, want in [0, %v]", attempt, d, limit)
			}
		}
	}
}

func TestCredentialKey(t *testing.T) {
	a := credentialKey("n", map[string]string{"token": "x", "user": "y"})
	b := credentialKey("n", map[string]string{"user": "y", "token": "x"})
	c := credentialKey("n", map[string]string{"token": "z", "user": "y"})
	d := credentialKey("m", map[string]string{"token": "x", "user": "y"})
	if a != b || a == c || a == d {
		t.Errorf("keys %q %q %q %q: want equal secrets equal, others different", a, b, c, d)
	}
}
