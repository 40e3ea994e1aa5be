package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/afflake/afflake/engine/spectest"
)

func init() {
	register(command{name: "test", summary: "map each spec's fixtures and compare with the golden unified rows", run: runTest})
}

func runTest(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", "[NETWORK…] [--update] [--format text|github]", stderr)
	update := fs.Bool("update", false, "rewrite the golden files from the current specs")
	specs := fs.String("specs", "specs", "the specs directory")
	testdata := fs.String("testdata", "testdata", "the fixtures directory (testdata/<network>/)")
	format := fs.String("format", "text", "how differences are printed: text, or github (workflow annotations on the golden files' lines)")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	if *format != "text" && *format != "github" {
		fmt.Fprintf(stderr, "afflake test: --format is text or github, not %q\n", *format)
		return ExitUsage
	}
	github := *format == "github"
	networks := fs.Args()
	set, ok := loadSpecs(stderr, *specs, networks...)
	if !ok {
		return ExitUsage
	}
	if len(networks) == 0 {
		networks = set.Names()
	}
	failed, passed := 0, 0
	for _, name := range networks {
		sp, ok := set.Specs[name]
		if !ok {
			fmt.Fprintf(stderr, "afflake test: no spec for network %q (have %s)\n", name, strings.Join(set.Names(), ", "))
			return ExitUsage
		}
		dir := filepath.Join(*testdata, name)
		if _, err := os.Stat(dir); err != nil {
			fmt.Fprintf(stdout, "FAIL %s: no fixtures (%s): store response bodies there, then run afflake test --update %s to write their golden rows\n", name, dir, name)
			failed++
			continue
		}
		results, err := spectest.Run(sp, dir, *update)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
			failed++
			continue
		}
		for _, r := range results {
			switch {
			case r.Err != nil:
				fmt.Fprintf(stdout, "FAIL %s %s: %v\n", name, r.Fixture, r.Err)
				if github {
					fmt.Fprintln(stdout, annotation("afflake test", r.Fixture, 0, 0, r.Err.Error()))
				}
				failed++
			case r.Updated:
				paths := make([]string, len(r.Goldens))
				for i, g := range r.Goldens {
					paths[i] = g.Path
				}
				fmt.Fprintf(stdout, "wrote %s (%s)\n", strings.Join(paths, " and "), count(r.Records, "record", "records"))
				passed++
			case !r.Passed():
				for _, g := range r.Goldens {
					if len(g.Diffs) == 0 {
						continue
					}
					fmt.Fprintf(stdout, "FAIL %s %s: %d difference(s) from %s\n", name, r.Fixture, len(g.Diffs), g.Path)
					for _, d := range g.Diffs {
						if github {
							fmt.Fprintln(stdout, annotation("afflake test", g.Path, d.Line, 0, d.Text))
						} else {
							fmt.Fprintf(stdout, "    %s\n", d.Text)
						}
					}
				}
				failed++
			default:
				fmt.Fprintf(stdout, "ok   %s %s (%s)\n", name, r.Fixture, count(r.Records, "record", "records"))
				passed++
			}
		}
	}
	fmt.Fprintf(stdout, "fixtures: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return ExitFailed
	}
	return ExitOK
}
