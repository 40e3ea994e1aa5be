package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/afflake/afflake/engine/plan"
)

// Errors callers branch on with errors.Is.
var (
	// ErrAuth: the credentials were refused (401, 403, a failed token
	// request). Retrying does not help.
	ErrAuth = errors.New("authentication failed")
	// ErrRateLimited: the API kept answering 429, or asked to wait longer
	// than limits.max_retry_after.
	ErrRateLimited = errors.New("rate limited")
	// ErrPaginationLoop: a cursor or next URL came back a second time, or
	// pagination.max_pages was reached with more pages announced.
	ErrPaginationLoop = errors.New("pagination loop")
	// ErrBadResponse: a 2xx response the spec cannot read: not JSON, an
	// error reported in the body, a pagination expression that fails.
	ErrBadResponse = errors.New("bad response")
	// ErrReportTimeout: a report job was not ready within report.timeout.
	ErrReportTimeout = errors.New("report not ready in time")
	// ErrUnsupported: the spec asks for something this engine does not do.
	ErrUnsupported = errors.New("not supported")
)

// Error says where a fetch failed: network, account, window and page
// (1-based; 0 when no page was reached).
type Error struct {
	Network string
	Account string
	Window  plan.Window
	Page    int
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s account %s window %s", e.Network, e.Account, e.Window)
	if e.Page > 0 {
		fmt.Fprintf(&b, " page %d", e.Page)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusError is a response with a status that is not 2xx, after any
// retries. Body holds the start of the response body, redacted.
type StatusError struct {
	Status   int
	Body     string
	Attempts int
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Body != "" {
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Is makes 401 and 403 match ErrAuth and 429 match ErrRateLimited.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// retryAfterError: the server asked to wait longer than the spec allows.
type retryAfterError struct {
	status int
	wait   time.Duration
	limit  time.Duration
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%s: %d %s with Retry-After %s, more than limits.max_retry_after %s; not waiting",
		ErrRateLimited, e.status, http.StatusText(e.status), e.wait, e.limit)
}

func (e *retryAfterError) Unwrap() error { return ErrRateLimited }

// snippetLen is how much of an error response's body an error quotes.
const snippetLen = 300

// snippet returns the first snippetLen bytes of body on one line, cut at
// a character boundary and redacted.
func snippet(body []byte, secrets []string) string {
	b := body
	if len(b) > snippetLen {
		b = b[:snippetLen]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(body) > snippetLen {
		s += "…"
	}
	return Redact(s, secrets...)
}
