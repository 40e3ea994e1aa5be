package fetch

import (
	"context"
	"fmt"
	"net/url"

	"github.com/google/cel-go/common/types"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/expr"
)

// report runs the window's report job: create it, poll it every
// report.every until report.ready (at most report.timeout/report.every
// polls), download it. The download is the window's one page.
func (f *fetcher) report(ctx context.Context, emit func(Page) error) error {
	job := f.sp.Job
	read := func(body []byte) (gjson.Result, error) { return readAs(body, job.Format, "") }

	_, res, _, err := f.do(ctx, sendOpts{what: "report create", read: read}, func(token string) (*built, error) {
		return f.build(ctx, buildOpts{call: job.Create, token: token, auth: true})
	})
	if err != nil {
		return f.fail(0, fmt.Errorf("report.create: %w", err))
	}
	root, err := read(res.body)
	if err != nil {
		return f.fail(0, fmt.Errorf("%w: report.create response: %w", ErrBadResponse, err))
	}
	id, err := f.evalText(job.JobID, "report.job_id", root, res, pageState{})
	if err != nil {
		return f.fail(0, err)
	}
	if id == "" {
		return f.fail(0, fmt.Errorf("%w: report.job_id found no job id in the create response: %s", ErrBadResponse, snippet(res.body, f.secrets())))
	}
	vars := map[string]any{"id": id, "body": expr.FromJSON(root)}

	polls := max(int(job.Timeout/job.Every), 1)
	for n := 1; ; n++ {
		if n > polls {
			return f.fail(0, fmt.Errorf("%w: job %s not ready after %d polls (report.timeout %s)", ErrReportTimeout, id, polls, job.Timeout))
		}
		if err := f.c.sleep(ctx, job.Every); err != nil {
			return f.fail(0, err)
		}
		jv := vars
		_, res, _, err := f.do(ctx, sendOpts{what: "report poll", read: read}, func(token string) (*built, error) {
			return f.build(ctx, buildOpts{call: job.Poll, token: token, auth: true, job: jv})
		})
		if err != nil {
			return f.fail(0, fmt.Errorf("report.poll: %w", err))
		}
		root, err := read(res.body)
		if err != nil {
			return f.fail(0, fmt.Errorf("%w: report.poll response: %w", ErrBadResponse, err))
		}
		vars = map[string]any{"id": id, "body": expr.FromJSON(root)}
		if job.Failed != nil {
			msg, err := f.evalText(job.Failed, "report.failed", root, res, pageState{})
			if err != nil {
				return f.fail(0, err)
			}
			if msg != "" && msg != "false" {
				return f.fail(0, fmt.Errorf("%w: report job %s failed: %s", ErrBadResponse, id, msg))
			}
		}
		ready, err := f.eval(job.Ready, "report.ready", root, res, pageState{})
		if err != nil {
			return f.fail(0, err)
		}
		if ready == types.True {
			break
		}
	}

	// The download carries the spec's auth only to the API's own origin:
	// a link elsewhere (pre-signed storage) is fetched without it.
	st := f.firstPage()
	b, res, attempts, err := f.do(ctx, sendOpts{what: "report download", page: st.seq, read: f.parse, pageErrors: true}, func(token string) (*built, error) {
		b, err := f.build(ctx, buildOpts{call: job.Download, st: st, token: token, auth: true, job: vars})
		if err != nil || f.sameOrigin(b.url) {
			return b, err
		}
		return f.build(ctx, buildOpts{call: job.Download, st: st, job: vars})
	})
	if err != nil {
		return f.fail(st.seq, err)
	}
	_, err = f.emitPage(st, b, res, attempts, emit)
	return err
}

// sameOrigin reports whether rawURL is on the API's origin: base_url's,
// or that of the account's override.
func (f *fetcher) sameOrigin(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	for _, b := range []string{f.base, f.sp.BaseURL} {
		if base, err := url.Parse(b); err == nil && originOf(u) == originOf(base) {
			return true
		}
	}
	return false
}
