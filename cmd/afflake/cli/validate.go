package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/afflake/afflake/engine/spec"
)

func init() {
	register(command{name: "validate", summary: "check specs: CUE schema and every CEL expression", run: runValidate})
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "[PATH…]", stderr)
	format := fs.String("format", "text", "how errors are printed: text (with the source line and a caret), or github (workflow annotations on the spec's lines)")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	if *format != "text" && *format != "github" {
		fmt.Fprintf(stderr, "afflake validate: --format is text or github, not %q\n", *format)
		return ExitUsage
	}
	set, errs := spec.Load(fs.Args()...)
	if len(errs) > 0 {
		for _, e := range errs {
			if *format == "github" {
				fmt.Fprintln(stderr, githubAnnotation(e))
			} else {
				fmt.Fprintln(stderr, e.Pretty())
			}
		}
		fmt.Fprintf(stderr, "%d error(s)\n", len(errs))
		return ExitUsage
	}
	for _, name := range set.Names() {
		sp := set.Specs[name]
		fmt.Fprintf(stdout, "ok  %-24s %s  %d columns, spec %s\n", name, sp.File, len(sp.Cols), sp.Hash)
	}
	return ExitOK
}

// githubAnnotation is a spec error as a GitHub Actions workflow command,
// which the job's summary and the pull request show on the spec's line.
func githubAnnotation(e *spec.Error) string {
	msg := e.Msg
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	return annotation("afflake validate", e.File, e.Line, e.Col, msg)
}

// annotation is an error as a GitHub Actions workflow command, on line
// and col of file when they are known (not zero).
func annotation(title, file string, line, col int, msg string) string {
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	var b strings.Builder
	b.WriteString("::error ")
	if file != "" {
		fmt.Fprintf(&b, "file=%s,", prop.Replace(file))
		if line > 0 {
			fmt.Fprintf(&b, "line=%d,", line)
		}
		if col > 0 {
			fmt.Fprintf(&b, "col=%d,", col)
		}
	}
	fmt.Fprintf(&b, "title=%s::%s", prop.Replace(title), data.Replace(msg))
	return b.String()
}

// loadSpecs loads the specs (only the named networks', when names are
// given) or prints their errors; ok false means exit 2.
func loadSpecs(stderr io.Writer, dir string, names ...string) (*spec.Set, bool) {
	set, errs := spec.LoadNetworks(dir, names...)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Pretty())
		}
		fmt.Fprintf(stderr, "%d spec error(s): nothing was run\n", len(errs))
		return nil, false
	}
	return set, true
}
