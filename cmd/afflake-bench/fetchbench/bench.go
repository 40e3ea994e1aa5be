// Package fetchbench measures how close the fetch client comes to the
// request rate a spec allows, against the in-process sandbox. It is
// benchmark tooling, kept apart from the engine packages because it
// needs the sandbox.
package fetchbench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/plan"
	"github.com/afflake/afflake/engine/spec"
)

// Result is one run of RateBench.
type Result struct {
	Requests    int64         // HTTP requests sent, retries included
	Pages       int64         // successful single-page fetches
	Status429   int           // requests the sandbox refused for rate
	Elapsed     time.Duration // wall time of the whole run
	Achieved    float64       // pages per second, all credentials together
	Allowed     float64       // rate × credentials
	MaxObserved float64       // most requests of one credential within one second
}

// RateBench sends n single-page fetches spread evenly over credentials
// sandbox accounts, against a sandbox that answers after latency and
// allows rate requests a second per credential; the spec allows the same
// rate. It returns the achieved pages per second (all credentials
// together; the allowed figure is rate × credentials) and the highest
// per-credential rate the sandbox observed in any one second.
func RateBench(ctx context.Context, n int, credentials int, rate float64, latency time.Duration) (achieved float64, maxObserved float64, err error) {
	r, err := Run(ctx, n, credentials, rate, latency)
	if err != nil {
		return 0, 0, err
	}
	return r.Achieved, r.MaxObserved, nil
}

// Run is RateBench with every figure.
func Run(ctx context.Context, n int, credentials int, rate float64, latency time.Duration) (*Result, error) {
	if n < 1 || credentials < 1 || rate <= 0 {
		return nil, errors.New("fetchbench: n, credentials and rate must be positive")
	}
	dir, err := specDir()
	if err != nil {
		return nil, err
	}
	set, errs := spec.Load(dir)
	if len(errs) > 0 {
		return nil, fmt.Errorf("fetchbench: %w", errs)
	}

	limits := map[string]float64{}
	for _, nw := range sandbox.Networks() {
		limits[nw] = rate
	}
	sb := sandbox.New(sandbox.Options{PerDay: 2, RateLimit: limits, Faults: sandbox.Faults{Latency: latency}})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	// Enough workers per credential to keep rate requests a second in
	// flight at this latency, with room to spare.
	conc := int(math.Ceil(rate*latency.Seconds()*1.5)) + 1
	type cred struct {
		sp   *spec.Spec
		acct fetch.Account
	}
	var creds []cred
	for _, a := range sb.Accounts() {
		base, ok := set.Specs[a.Network]
		if !ok || len(creds) == credentials {
			continue
		}
		sp := *base
		sp.Limits.Rate, sp.Limits.Burst, sp.Limits.Concurrency, sp.Limits.Retries = rate, 1, conc, 10
		creds = append(creds, cred{&sp, fetch.Account{
			ID: a.ID, Currency: a.Currency, Secrets: a.Secrets, BaseURL: srv.URL + "/" + a.Network,
			Extra: map[string]string{"page_size": "20000"},
		}})
	}
	if len(creds) < credentials {
		return nil, fmt.Errorf("fetchbench: the sandbox has %d credentials, %d asked for", len(creds), credentials)
	}

	c := fetch.New(fetch.Options{MaxConcurrency: credentials * conc})
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// One-day windows over the last 60 days, round robin.
	clock := sb.Clock()
	day := func(i int) plan.Window {
		end := clock.AddDate(0, 0, -(i % 60))
		return plan.Window{Start: end.AddDate(0, 0, -1), End: end}
	}
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	start := time.Now()
	for k, cr := range creds {
		share := n / credentials
		if k < n%credentials {
			share++
		}
		jobs := make(chan int, share)
		for i := 0; i < share; i++ {
			jobs <- i
		}
		close(jobs)
		for range 2 * conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					if err := c.Fetch(ctx, cr.sp, cr.acct, day(i), func(fetch.Page) error { return nil }); err != nil {
						errOnce.Do(func() { first = err; cancel() })
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return nil, first
	}
	res := &Result{Elapsed: elapsed, Allowed: rate * float64(credentials)}
	for _, s := range c.Stats() {
		res.Requests += s.Requests
		res.Pages += s.Pages
	}
	for _, s := range sb.Stats() {
		res.Status429 += s.Status429
		res.MaxObserved = max(res.MaxObserved, s.MaxObservedRate)
	}
	res.Achieved = float64(res.Pages) / elapsed.Seconds()
	return res, nil
}

// specDir finds the benchmark's specs: engine/fetch/testdata/specs of
// this checkout.
func specDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "..", "..", "engine", "fetch", "testdata", "specs")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "engine", "fetch", "testdata", "specs")
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("fetchbench: engine/fetch/testdata/specs not found above " + wd)
		}
	}
}
