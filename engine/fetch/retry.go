package fetch

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff bounds: the n-th retry waits a random time up to
// min(BackoffCap, BackoffBase·2ⁿ⁻¹) ("full jitter"), unless the server
// said how long with Retry-After.
const (
	BackoffBase = 500 * time.Millisecond
	BackoffCap  = 30 * time.Second
)

func backoff(attempt int) time.Duration {
	d := BackoffBase
	for i := 1; i < attempt && d < BackoffCap; i++ {
		d *= 2
	}
	d = min(d, BackoffCap)
	return rand.N(d + 1)
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
// ok is false when there is none or it cannot be read.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// classify decides what to do after an exchange: done (retry false, err
// nil), give up (retry false, err set) or retry after wait.
func (f *fetcher) classify(res *exchangeResult, err error, attempt int) (wait time.Duration, retry bool, _ error) {
	retries := max(f.sp.Limits.Retries, 0)
	if err != nil {
		var ne *netError
		if !errors.As(err, &ne) || errors.Is(err, context.Canceled) {
			return 0, false, err
		}
		if attempt > retries {
			return 0, false, attemptsError{err, attempt}
		}
		return backoff(attempt), true, err
	}
	if res.status >= 200 && res.status < 300 {
		return 0, false, nil
	}
	se := &StatusError{Status: res.status, Body: snippet(res.body, f.secrets()), Attempts: attempt}
	if !retryableStatus(res.status) {
		return 0, false, se
	}
	ra, hasRA := retryAfter(res.header, f.c.now())
	if hasRA && f.sp.RetryCap > 0 && ra > f.sp.RetryCap {
		return 0, false, &retryAfterError{status: res.status, wait: ra, limit: f.sp.RetryCap}
	}
	if attempt > retries {
		return 0, false, se
	}
	if hasRA {
		if res.status == http.StatusTooManyRequests {
			f.cr.pauseUntil(f.c.now().Add(ra))
		}
		return ra, true, se
	}
	return backoff(attempt), true, se
}

// attemptsError is a connection failure that outlasted the retries.
type attemptsError struct {
	err      error
	attempts int
}

func (e attemptsError) Error() string {
	if e.attempts <= 1 {
		return e.err.Error()
	}
	return e.err.Error() + " (" + strconv.Itoa(e.attempts) + " attempts)"
}

func (e attemptsError) Unwrap() error { return e.err }
