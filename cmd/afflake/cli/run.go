package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/afflake/afflake/engine/config"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/run"
)

func init() {
	register(command{name: "run", summary: "the scheduled batch job: fetch every configured account into the lake", run: runRun})
}

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "--lake L [--networks a,b] [--from D --to D]", stderr)
	lakeLoc := fs.String("lake", "", "the lake: a directory (default: the configuration's lake)")
	networks := fs.String("networks", "", "comma-separated networks to run (default: every configured one)")
	from := fs.String("from", "", "start of the range, YYYY-MM-DD or RFC 3339 (default: the spec's initial span before now)")
	to := fs.String("to", "", "end of the range, exclusive (default: now)")
	configFile := fs.String("config", config.DefaultFile, "the accounts configuration")
	specsDir := fs.String("specs", "specs", "the specs directory")
	runID := fs.String("run-id", "", "the run ID (default: the UTC start time and six random hex digits); re-running an ID replaces its files")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	concurrency := fs.Int("concurrency", fetch.DefaultMaxConcurrency, "requests in flight across all networks")
	tokenDir := fs.String("token-dir", defaultTokenDir(), "where rotating OAuth2 refresh tokens are kept between runs (files readable by this user only; never the lake)")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "afflake run: %v\n", err)
		return ExitUsage
	}
	start, end, err := dateRange(*from, *to)
	if err != nil {
		fmt.Fprintf(stderr, "afflake run: %v\n", err)
		return ExitUsage
	}
	sel, ok := selectAccounts(stderr, *specsDir, *configFile, *networks)
	if !ok {
		return ExitUsage
	}
	if *lakeLoc == "" {
		*lakeLoc = sel.cfg.Lake
	}
	if *lakeLoc == "" {
		fmt.Fprintln(stderr, "afflake run: no lake: give --lake or set lake in the configuration")
		return ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The lake is checked before any request is sent.
	store, release, ok := openLake(ctx, stderr, "run", *lakeLoc)
	if !ok {
		return ExitUsage
	}
	defer release()
	now := time.Now().UTC()
	if *runID == "" {
		*runID = newRunID("", now)
	}
	resolver := config.NewResolver(config.ResolverOptions{})
	accts, errs := sel.resolve(ctx, resolver, false)
	for _, e := range errs {
		logger.Error("secrets", "error", e)
	}
	client := fetch.New(fetch.Options{Logger: logger, MaxConcurrency: *concurrency, Tokens: &fetch.FileTokenStore{Dir: *tokenDir}})
	defer client.Close()
	m, err := runWithProgress(ctx, stderr, run.Options{
		Store: store, Specs: sel.specs.Specs, Accounts: accts, From: start, To: end, Now: now,
		RunID: *runID, Fetch: client, Logger: logger,
	})
	if m != nil {
		printSummary(stdout, m)
		fmt.Fprintf(stdout, "manifest: %s/%s\n", store, run.ManifestKey(m.RunID))
	}
	if err != nil {
		fmt.Fprintf(stderr, "afflake run: %v\n", err)
		return ExitFailed
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stdout, "error: %s\n", e)
		}
		return ExitFailed
	}
	if m.Failed() {
		return ExitFailed
	}
	return ExitOK
}

// defaultTokenDir is $AFFLAKE_TOKEN_DIR, else afflake/tokens in the
// user's configuration directory.
func defaultTokenDir() string {
	if d := os.Getenv("AFFLAKE_TOKEN_DIR"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "afflake", "tokens")
	}
	return filepath.Join(".afflake", "tokens")
}
