package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/config"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/plan"
)

func init() {
	register(command{name: "plan", summary: "print the requests a run would send, secrets redacted", run: runPlan})
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plan", "[--networks a,b] [--from D --to D]", stderr)
	networks := fs.String("networks", "", "comma-separated networks (default: every configured one)")
	from := fs.String("from", "", "start of the range, YYYY-MM-DD or RFC 3339 (default: the spec's initial span before now)")
	to := fs.String("to", "", "end of the range, exclusive (default: now)")
	configFile := fs.String("config", config.DefaultFile, "the accounts configuration")
	specsDir := fs.String("specs", "specs", "the specs directory")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	start, end, err := dateRange(*from, *to)
	if err != nil {
		fmt.Fprintf(stderr, "afflake plan: %v\n", err)
		return ExitUsage
	}
	sel, ok := selectAccounts(stderr, *specsDir, *configFile, *networks)
	if !ok {
		return ExitUsage
	}
	accts, errs := sel.resolve(context.Background(), config.NewResolver(config.ResolverOptions{}), true)
	for _, e := range errs {
		fmt.Fprintf(stderr, "note: %s (shown as <name>)\n", e)
	}
	client := fetch.New(fetch.Options{})
	defer client.Close()
	now := time.Now().UTC()
	status := ExitOK
	for _, a := range accts {
		sp := sel.specs.Specs[a.Network]
		f, t := start, end
		if f.IsZero() {
			f = now.Add(-sp.Initial)
		}
		if t.IsZero() {
			t = now
		}
		windows, err := plan.Windows(sp, f, t)
		if err != nil {
			fmt.Fprintf(stderr, "%s account %s: %v\n", a.Network, a.ID, err)
			status = ExitFailed
			continue
		}
		fmt.Fprintf(stdout, "%s account %s: %d window(s) of at most %s, %s, %s pagination\n",
			a.Network, a.ID, len(windows), sp.Window.MaxSpan, sp.Auth.Kind+" auth", sp.Pagination.Kind)
		for _, w := range windows {
			req, err := client.Preview(sp, a.Account, w)
			if err != nil {
				fmt.Fprintf(stderr, "%v\n", err)
				status = ExitFailed
				continue
			}
			fmt.Fprintf(stdout, "  %s  %s %s\n", w, req.Method, req.URL)
			if req.Body != "" {
				fmt.Fprintf(stdout, "      body: %s\n", oneLine(req.Body))
			}
		}
	}
	return status
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
