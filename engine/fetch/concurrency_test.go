package fetch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/fetch"
)

// Requests in flight never exceed limits.concurrency per credential nor
// MaxConcurrency overall; the credential's state is shared by all its
// windows.
func TestConcurrencyBounds(t *testing.T) {
	tests := []struct {
		name       string
		global     int
		perCred    int
		creds      int
		wantCred   int // max in flight per credential
		wantGlobal int
	}{
		{"per credential", 16, 2, 3, 2, 6},
		{"global", 3, 4, 3, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, srv := newMock(t, 10)
			m.delay = 20 * time.Millisecond
			sp := testSpec(t, "cursors")
			sp.Limits.Concurrency = tt.perCred
			c := fetch.New(fetch.Options{MaxConcurrency: tt.global})
			defer c.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for k := 0; k < tt.creds; k++ {
				acct := fetch.Account{ID: fmt.Sprint("a", k), BaseURL: srv.URL, Secrets: map[string]string{"key": fmt.Sprint("key-", k)}}
				for w := 0; w < 8; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- c.Fetch(context.Background(), sp, acct, october, func(fetch.Page) error { return nil })
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			for cred, n := range m.maxInflight {
				if n > tt.wantCred {
					t.Errorf("credential %s: %d requests in flight, want at most %d", cred, n, tt.wantCred)
				}
			}
			if m.maxTotal > tt.wantGlobal {
				t.Errorf("%d requests in flight, want at most %d", m.maxTotal, tt.wantGlobal)
			}
			if m.maxTotal < tt.wantGlobal {
				t.Errorf("at most %d requests in flight, want %d: the bound was never reached", m.maxTotal, tt.wantGlobal)
			}
			if got, want := c.Stats()["cursors"].Requests, int64(tt.creds*8*2); got != want {
				t.Errorf("got %d requests, want %d", got, want)
			}
		})
	}
}

// A cancelled context stops the fetch promptly.
func TestCancel(t *testing.T) {
	m, srv := newMock(t, 100)
	m.delay = 50 * time.Millisecond
	c := fetch.New(fetch.Options{})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Fetch(ctx, testSpec(t, "paged"), fetch.Account{ID: "a1", BaseURL: srv.URL}, october, func(fetch.Page) error { return nil })
	if err == nil || ctx.Err() == nil {
		t.Fatalf("got %v, want the context's error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to stop", d)
	}
}
