// Package cli implements the afflake command line, one file per
// subcommand. Main is what the binary runs and what the CLI tests run
// in-process.
package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// Exit statuses.
const (
	ExitOK     = 0 // all went well
	ExitFailed = 1 // a network, file or record failed; the rest completed
	ExitUsage  = 2 // usage or spec error; nothing ran
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// Main runs the command line in os.Args and returns the exit status.
// AFFLAKE_CPUPROFILE=FILE writes a CPU profile of the command.
func Main() int {
	if path := os.Getenv("AFFLAKE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	return Run(os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs one command line.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "afflake: unknown command %q\n\n", args[0])
		usage(stderr)
		return ExitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "afflake builds a data lake from affiliate networks' transaction APIs.")
	fmt.Fprintln(w, "\nUsage: afflake <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'afflake <command> -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: afflake %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; ok is false with the exit status to return.
func parse(fs *flag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	return 0, true
}

// interleave moves flags after positional arguments to the front, so
// that "afflake test awin --update" works as well as "--update awin".
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return append(flags, pos...)
}

// newRunID is the default run ID of a command started at now: the prefix,
// the UTC second, and six random hex digits. Re-running a run ID replaces
// its files, so two runs that start in the same second, one after the
// other (a shell loop of transforms, a quick retry) or side by side, must
// not share one by default.
func newRunID(prefix string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
