package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/config"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/history"
	"github.com/afflake/afflake/engine/plan"
	"github.com/afflake/afflake/engine/run"
	"github.com/afflake/afflake/engine/storage"
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
	lakeLoc := fs.String("lake", "", "the lake whose watermarks an incremental run starts from (default: the configuration's lake, if any)")
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
	if *lakeLoc == "" {
		*lakeLoc = sel.cfg.Lake
	}
	marks := map[string]map[string]time.Time{}
	if *lakeLoc != "" {
		store, err := storage.Open(*lakeLoc)
		if err != nil {
			fmt.Fprintf(stderr, "afflake plan: %v\n", err)
			return ExitUsage
		}
		for _, a := range accts {
			if _, ok := marks[a.Network]; !ok {
				m, err := history.Open(store, a.Network).Watermarks(context.Background())
				if err != nil {
					fmt.Fprintf(stderr, "afflake plan: %v\n", err)
					return ExitFailed
				}
				marks[a.Network] = m
			}
		}
	}
	status := ExitOK
	for _, a := range accts {
		sp := sel.specs.Specs[a.Network]
		wm := marks[a.Network][a.ID]
		f, t := run.Span(sp, start, end, now, wm)
		how := "first run: the spec's initial span " + sp.Window.Initial
		switch {
		case !start.IsZero():
			how = "--from"
		case !wm.IsZero():
			how = "watermark " + wm.Format(time.RFC3339) + " minus lookback " + sp.Window.Lookback
		}
		fmt.Fprintf(stdout, "%s account %s: %s..%s (%s)\n", a.Network, a.ID, f.Format(time.RFC3339), t.Format(time.RFC3339), how)
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
