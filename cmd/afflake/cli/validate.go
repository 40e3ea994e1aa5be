package cli

import (
	"fmt"
	"io"

	"github.com/afflake/afflake/engine/spec"
)

func init() {
	register(command{name: "validate", summary: "check specs: CUE schema and every CEL expression", run: runValidate})
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "[PATH…]", stderr)
	if st, ok := parse(fs, args); !ok {
		return st
	}
	set, errs := spec.Load(fs.Args()...)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Pretty())
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
