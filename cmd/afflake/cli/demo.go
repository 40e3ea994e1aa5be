package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/run"
	"github.com/afflake/afflake/engine/spec"
)

func init() {
	register(command{name: "demo", summary: "start the sandbox, run every network into a lake, print a summary", run: runDemo})
}

// demoRate is the request rate the demo allows itself per credential: the
// sandbox's limit, not the real APIs' (which would make a demo take
// minutes).
const demoRate = 20

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "[--lake DIR] [--clock TIME]", stderr)
	lakeDir := fs.String("lake", "lake", "the lake to write: a directory or s3://bucket/prefix")
	clock := fs.String("clock", "2026-11-01T00:00:00Z", "the sandbox's clock (RFC 3339): now, for the emulated networks and the run")
	specsDir := fs.String("specs", "specs", "the specs directory")
	days := fs.Int("days", 90, "days of history the run covers")
	runID := fs.String("run-id", "", "the run ID (default: demo-<UTC time>-<random>)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	now, err := time.Parse(time.RFC3339, *clock)
	if err != nil {
		fmt.Fprintf(stderr, "afflake demo: --clock: %v\n", err)
		return ExitUsage
	}
	now = now.UTC()
	set, ok := loadSpecs(stderr, *specsDir)
	if !ok {
		return ExitUsage
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "afflake demo: %v\n", err)
		return ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	store, release, ok := openLake(ctx, stderr, "demo", *lakeDir)
	if !ok {
		return ExitUsage
	}
	defer release()

	sb := sandbox.New(sandbox.Options{Clock: now})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "afflake demo: starting the sandbox: %v\n", err)
		return ExitFailed
	}
	defer sb.Close()
	fmt.Fprintf(stdout, "sandbox serving %s at %s, clock %s\n", strings.Join(sandbox.Networks(), ", "), url, now.Format(time.RFC3339))

	specs := map[string]*spec.Spec{}
	var accounts []run.Account
	for _, a := range sb.Accounts() {
		sp, ok := set.Specs[a.Network]
		if !ok {
			continue
		}
		if _, seen := specs[a.Network]; !seen {
			demo := *sp
			demo.Limits.Rate, demo.Limits.Burst = demoRate, 5
			specs[a.Network] = &demo
		}
		accounts = append(accounts, run.Account{Network: a.Network, Account: fetch.Account{
			ID: a.ID, Currency: a.Currency, Secrets: a.Secrets, Extra: a.Extra,
			BaseURL: url + "/" + a.Network, Origins: sandboxOrigins(sp, url),
		}})
	}
	if *runID == "" {
		*runID = newRunID("demo-", now)
	}
	tokens, err := os.MkdirTemp("", "afflake-demo-tokens-")
	if err != nil {
		fmt.Fprintf(stderr, "afflake demo: %v\n", err)
		return ExitFailed
	}
	defer os.RemoveAll(tokens)
	client := fetch.New(fetch.Options{Logger: logger, HTTP: fetch.LocalOnly(), Tokens: &fetch.FileTokenStore{Dir: tokens}})
	defer client.Close()
	m, err := runWithProgress(ctx, stderr, run.Options{
		Store: store, Specs: specs, Accounts: accounts,
		From: now.AddDate(0, 0, -*days), To: now, Now: now,
		RunID: *runID, Fetch: client, Logger: logger,
	})
	if m != nil {
		printSummary(stdout, m)
	}
	if err != nil {
		fmt.Fprintf(stderr, "afflake demo: %v\n", err)
		return ExitFailed
	}
	where := store.String()
	if !strings.HasPrefix(where, "s3://") {
		where, _ = filepath.Abs(*lakeDir)
	}
	fmt.Fprintf(stdout, "\nlake: %s\nmanifest: %s/%s\n", where, where, run.ManifestKey(m.RunID))
	fmt.Fprintf(stdout, "try: duckdb -c \"SELECT network, status, count(*), sum(commission_amount) FROM read_parquet('%s/current/*/*/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY ALL\"\n", where)
	if m.Failed() {
		return ExitFailed
	}
	return ExitOK
}

// runWithProgress runs, drawing progress on a terminal.
func runWithProgress(ctx context.Context, stderr io.Writer, o run.Options) (*run.Manifest, error) {
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		o.Progress = run.NewProgress()
		defer showProgress(f, o.Progress.Line)()
	}
	return run.Run(ctx, o)
}

// showProgress redraws line on a terminal every 200 ms until the
// returned stop is called, which clears it.
func showProgress(w io.Writer, line func() string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", line())
			}
		}
	}()
	return func() { close(done); <-finished }
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printSummary prints one line per network and the errors.
func printSummary(w io.Writer, m *run.Manifest) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "network\taccounts\trequests\tpages\trecords\trows\tquarantined\tversions\tunchanged\tseconds\t")
	var errs []string
	for i := range m.Networks {
		n := &m.Networks[i]
		t := n.Totals()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t\n", n.Network, len(n.Accounts), t.Requests, t.Pages, t.Records, t.Rows, t.Quarantined, n.Versions, n.Unchanged, n.Seconds)
		errs = append(errs, t.Errors...)
	}
	tw.Flush()
	sort.Strings(errs)
	for _, e := range errs {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// sandboxOrigins maps every origin a spec talks to (its base URL, token
// and login endpoints) to the network's prefix on the sandbox.
func sandboxOrigins(sp *spec.Spec, sandboxURL string) map[string]string {
	target := sandboxURL + "/" + sp.Name
	out := map[string]string{}
	for _, o := range sp.Origins() {
		out[o] = target
	}
	return out
}
