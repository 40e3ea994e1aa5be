package fetch_test

import (
	"context"
	"testing"
	"time"

	"github.com/afflake/afflake/cmd/afflake-bench/fetchbench"
)

// BenchmarkRateLimitedFetch: b.N single-page fetches over 4 credentials
// against a sandbox answering in 50 ms and allowing 100 requests a
// second per credential. It reports the pages per second achieved
// against the 400 allowed. Run exactly 2,000 requests with
// -benchtime=2000x.
func BenchmarkRateLimitedFetch(b *testing.B) {
	const (
		credentials = 4
		rate        = 100.0
		latency     = 50 * time.Millisecond
	)
	r, err := fetchbench.Run(context.Background(), b.N, credentials, rate, latency)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.Achieved, "req/s")
	b.ReportMetric(r.Allowed, "allowed-req/s")
	b.ReportMetric(r.Achieved/r.Allowed, "ratio")
	b.ReportMetric(r.MaxObserved, "max-req/s/credential")
	b.ReportMetric(float64(r.Status429), "429s")
}

// The benchmark's harness as a test: 300 requests over 2 credentials at
// 100 requests a second each. The client neither exceeds the rate (the
// sandbox stamps requests after a variable delay, hence a little
// tolerance) nor goes faster than allowed overall.
func TestRateBench(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about two seconds")
	}
	r, err := fetchbench.Run(context.Background(), 300, 2, 100, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pages != 300 {
		t.Errorf("got %d pages, want 300", r.Pages)
	}
	if r.MaxObserved > 105 {
		t.Errorf("observed %v requests a second on one credential, allowed 100 (+1 burst)", r.MaxObserved)
	}
	if r.Achieved > r.Allowed*1.05 {
		t.Errorf("achieved %.0f requests a second, allowed %.0f", r.Achieved, r.Allowed)
	}
	t.Logf("achieved %.0f req/s of %.0f, max %.0f/s per credential, %d answered 429", r.Achieved, r.Allowed, r.MaxObserved, r.Status429)
}
