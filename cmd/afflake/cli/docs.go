package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func init() {
	register(command{name: "docs", summary: "print docs/networks.md, generated from the specs", run: runDocs})
}

func runDocs(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("docs", "[--specs DIR]", stderr)
	specsDir := fs.String("specs", "specs", "the specs directory")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	set, ok := loadSpecs(stderr, *specsDir)
	if !ok {
		return ExitUsage
	}
	w := stdout
	fmt.Fprintln(w, "# Networks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from `specs/` by `make docs` (`afflake docs`); CI checks it is up to date.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| network | auth | pagination | max window | format | rate limit |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, name := range set.Names() {
		sp := set.Specs[name]
		fmt.Fprintf(w, "| [%s](#%s) | %s | %s | %s | %s | %s |\n", sp.Title, name, authText(sp.Auth.Kind, sp.Auth.Grant),
			sp.Pagination.Kind, sp.Window.MaxSpan, sp.Response.Format, rateText(sp.Limits.Rate))
	}
	for _, name := range set.Names() {
		sp := set.Specs[name]
		fmt.Fprintf(w, "\n## %s\n\n", name)
		fmt.Fprintf(w, "%s — `%s`", sp.Title, sp.File)
		if sp.Docs != "" {
			fmt.Fprintf(w, ", from [the API documentation](%s)", sp.Docs)
		}
		fmt.Fprintln(w, ".")
		fmt.Fprintln(w)
		fmt.Fprintf(w, "- request: `%s %s%s`\n", sp.Request.Method, sp.BaseURL, sp.Request.Path)
		fmt.Fprintf(w, "- auth: %s\n", authText(sp.Auth.Kind, sp.Auth.Grant))
		fmt.Fprintf(w, "- pagination: %s\n", sp.Pagination.Kind)
		fmt.Fprintf(w, "- windows: at most %s, parameters in %s (`%s`), lookback %s, first run %s\n",
			sp.Window.MaxSpan, sp.Window.Timezone, sp.Window.Format, sp.Window.Lookback, sp.Window.Initial)
		fmt.Fprintf(w, "- rate limit: %s per credential, burst %d, %d in flight\n", rateText(sp.Limits.Rate), sp.Limits.Burst, sp.Limits.Concurrency)
		rec := sp.Response.Records
		if rec == "" {
			rec = "(top-level array)"
		}
		fmt.Fprintf(w, "- response: %s, records at `%s`; times without an offset read in %s\n", sp.Response.Format, rec, sp.Timezone)
		fmt.Fprintf(w, "- columns: %d of its own, plus the lineage columns\n", len(sp.Cols))
		fmt.Fprintf(w, "\nStatus: `%s`\n", sp.Transaction["status"])
		if st := sp.Tables["status"]; len(st) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| raw status | status |")
			fmt.Fprintln(w, "|---|---|")
			keys := make([]string, 0, len(st))
			for k := range st {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "| `%s` | %s |\n", k, st[k])
			}
		}
	}
	return ExitOK
}

func authText(kind, grant string) string {
	if kind == "oauth2" && grant != "" {
		return "oauth2 (" + strings.ReplaceAll(grant, "_", " ") + ")"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

func rateText(rate float64) string {
	switch {
	case rate >= 1:
		return fmt.Sprintf("%g/s", rate)
	case rate*60 >= 1:
		return fmt.Sprintf("%.3g/min", rate*60)
	}
	return fmt.Sprintf("%.3g/h", rate*3600)
}
