package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/spec"
)

func init() {
	register(command{name: "sandbox", summary: "serve the emulated network APIs (demo, tests, benchmarks)", run: runSandbox})
}

func runSandbox(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sandbox", "[--addr HOST:PORT] [--clock TIME]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	clock := fs.String("clock", "2026-11-01T00:00:00Z", "the emulated world's now (RFC 3339)")
	rate := fs.Float64("rate", 0, "requests per second allowed per credential (default 50)")
	latency := fs.Duration("latency", 0, "fault: latency added to every response")
	burst5xx := fs.Int("fault-5xx", 0, "fault: the first N requests per network get 503")
	truncate := fs.Int("fault-truncate", 0, "fault: the first N data responses per network are cut in half")
	invalid := fs.Int("fault-invalid-json", 0, "fault: the next N data responses per network are not JSON")
	repeat := fs.Bool("fault-repeat-cursor", false, "fault: pagination never advances")
	config := fs.String("write-config", "", "write an accounts configuration for this sandbox to FILE")
	specsDir := fs.String("specs", "specs", "the specs directory, for the origins each network calls")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	now, err := time.Parse(time.RFC3339, *clock)
	if err != nil {
		fmt.Fprintf(stderr, "afflake sandbox: --clock: %v\n", err)
		return ExitUsage
	}
	opts := sandbox.Options{Clock: now.UTC(), Faults: sandbox.Faults{
		Latency: *latency, Burst5xx: *burst5xx, TruncateBody: *truncate, InvalidJSON: *invalid, RepeatCursor: *repeat,
	}}
	if *rate > 0 {
		opts.RateLimit = map[string]float64{}
		for _, n := range sandbox.Networks() {
			opts.RateLimit[n] = *rate
		}
	}
	sb := sandbox.New(opts)
	url, err := sb.Start(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "afflake sandbox: %v\n", err)
		return ExitFailed
	}
	defer sb.Close()
	origins := map[string]map[string]string{}
	if set, errs := spec.Load(*specsDir); len(errs) == 0 {
		for name, sp := range set.Specs {
			origins[name] = sandboxOrigins(sp, url)
		}
	}
	cfg := sandboxConfig(url, sb.Accounts(), origins)
	fmt.Fprintf(stdout, "sandbox serving %s at %s, clock %s\n\n", strings.Join(sandbox.Networks(), ", "), url, now.UTC().Format(time.RFC3339))
	if *config != "" {
		if err := os.WriteFile(*config, []byte(cfg), 0o600); err != nil {
			fmt.Fprintf(stderr, "afflake sandbox: %v\n", err)
			return ExitFailed
		}
		fmt.Fprintf(stdout, "accounts configuration written to %s\n", *config)
	} else {
		fmt.Fprintf(stdout, "accounts configuration for afflake run --config FILE:\n\n%s\n", cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return ExitOK
}

// sandboxConfig renders an accounts configuration that points every
// account at the sandbox, secrets given as literal values.
func sandboxConfig(url string, accts []sandbox.Account, origins map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString("// Accounts of the afflake sandbox: literal secrets, base URLs on the sandbox.\naccounts: {\n")
	byNet := map[string][]sandbox.Account{}
	var nets []string
	for _, a := range accts {
		if _, ok := byNet[a.Network]; !ok {
			nets = append(nets, a.Network)
		}
		byNet[a.Network] = append(byNet[a.Network], a)
	}
	sort.Strings(nets)
	for _, n := range nets {
		fmt.Fprintf(&b, "\t%s: [\n", n)
		for _, a := range byNet[n] {
			fmt.Fprintf(&b, "\t\t{\n\t\t\tid:       %s\n\t\t\tcurrency: %q\n\t\t\tbase_url: %q\n\t\t\tsecrets: {\n", strconv.Quote(a.ID), a.Currency, url+"/"+n)
			secrets := a.Secrets
			keys := make([]string, 0, len(secrets))
			for k := range secrets {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "\t\t\t\t%s: value: %q\n", k, secrets[k])
			}
			b.WriteString("\t\t\t}\n")
			writeStrMap(&b, "extra", a.Extra)
			writeStrMap(&b, "origins", origins[n])
			b.WriteString("\t\t},\n")
		}
		b.WriteString("\t]\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func writeStrMap(b *strings.Builder, name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(b, "\t\t\t%s: {\n", name)
	for _, k := range keys {
		fmt.Fprintf(b, "\t\t\t\t%q: %q\n", k, m[k])
	}
	b.WriteString("\t\t\t}\n")
}
