package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/afflake/afflake/engine/run"
)

func init() {
	register(command{name: "replay", summary: "re-map the raw zone with today's specs (new fields, fixes)", run: runReplay})
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", "--lake L [--networks a,b] [--from D --to D]", stderr)
	lakeLoc := fs.String("lake", "", "the lake (required)")
	networks := fs.String("networks", "", "comma-separated networks (default: every network in the raw zone)")
	from := fs.String("from", "", "first ingest date to replay, YYYY-MM-DD (default: the oldest)")
	to := fs.String("to", "", "ingest date to stop before, YYYY-MM-DD (default: none)")
	specsDir := fs.String("specs", "specs", "the specs directory")
	runID := fs.String("run-id", "", "the replay's run ID (default: replay-<UTC time>-<random>)")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	if *lakeLoc == "" {
		fmt.Fprintln(stderr, "afflake replay: --lake is required")
		return ExitUsage
	}
	start, end, err := dateRange(*from, *to)
	if err != nil {
		fmt.Fprintf(stderr, "afflake replay: %v\n", err)
		return ExitUsage
	}
	set, ok := loadSpecs(stderr, *specsDir)
	if !ok {
		return ExitUsage
	}
	var nets []string
	for _, n := range strings.Split(*networks, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if _, ok := set.Specs[n]; !ok {
				fmt.Fprintf(stderr, "afflake replay: no spec for %q\n", n)
				return ExitUsage
			}
			nets = append(nets, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, release, ok := openLake(ctx, stderr, "replay", *lakeLoc)
	if !ok {
		return ExitUsage
	}
	defer release()
	now := time.Now().UTC()
	if *runID == "" {
		*runID = newRunID("replay-", now)
	}
	m, err := run.Replay(ctx, run.ReplayOptions{Store: store, Specs: set.Specs, Networks: nets, From: start, To: end, RunID: *runID, Now: now})
	if m != nil {
		printSummary(stdout, m)
		fmt.Fprintf(stdout, "manifest: %s/%s\n", store, run.ManifestKey(m.RunID))
	}
	if err != nil {
		fmt.Fprintf(stderr, "afflake replay: %v\n", err)
		return ExitFailed
	}
	if m.Failed() {
		return ExitFailed
	}
	return ExitOK
}
