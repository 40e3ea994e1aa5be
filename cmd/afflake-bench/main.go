// Command afflake-bench measures the transform: `gen` writes Awin-shaped
// response pages, `run` runs a command (afflake transform, or the DuckDB
// baseline) and reports its wall time, records/s, MB/s, peak RSS and CPU
// time per record.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/afflake/afflake/cmd/afflake-bench/awinpages"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: afflake-bench gen|run …")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "afflake-bench:", err)
		os.Exit(1)
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	pages := fs.Int("pages", 100, "pages to write")
	per := fs.Int("per-page", 2000, "transactions per page")
	out := fs.String("out", "bench/awin", "output directory")
	basket := fs.Bool("basket", false, "add basketProducts to each transaction, as a request with showBasketProducts=true returns them")
	_ = fs.Parse(args)
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	g := awinpages.New(1)
	g.Basket = *basket
	var total int64
	for p := 0; p < *pages; p++ {
		page := g.Page(*per)
		name := filepath.Join(*out, fmt.Sprintf("page-%05d.json", p))
		if err := os.WriteFile(name, page, 0o644); err != nil {
			return err
		}
		total += int64(len(page))
	}
	fmt.Printf("wrote %d pages × %d records = %d records, %.1f MB in %s\n", *pages, *per, *pages**per, float64(total)/1e6, *out)
	return nil
}

var recordsRe = regexp.MustCompile(`(\d+) records read`)

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	in := fs.String("in", "bench/awin", "the input directory, to compute MB/s")
	label := fs.String("label", "transform", "what the summary line calls the command")
	_ = fs.Parse(args)
	argv := fs.Args()
	if len(argv) == 0 {
		return fmt.Errorf("run: no command")
	}
	var inBytes int64
	_ = filepath.Walk(*in, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			inBytes += fi.Size()
		}
		return nil
	})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	anon := anonPeak(cmd.Process.Pid, done)
	var records int64
	sc := bufio.NewScanner(outPipe)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		if m := recordsRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			records += n
		}
	}
	err = cmd.Wait()
	wall := time.Since(start)
	close(done)
	own := <-anon
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss float64
	if ru != nil {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	// CPU time is what the cores bound: records/s can at best reach
	// cores / (CPU time per record).
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	ownMem := ""
	if own > 0 {
		ownMem = fmt.Sprintf(" (own memory %.0f MiB)", float64(own)/1024)
	}
	fmt.Printf("%s: %d records, %.1f MB in %.2f s: %.0f records/s, %.1f MB/s, peak RSS %.0f MiB%s, CPU %.1f µs/record\n",
		*label, records, float64(inBytes)/1e6, wall.Seconds(), float64(records)/wall.Seconds(), float64(inBytes)/1e6/wall.Seconds(), rss, ownMem,
		cpu.Seconds()*1e6/float64(max(records, 1)))
	return nil
}

// anonPeak samples the anonymous memory of process pid (RssAnon in
// /proc/pid/status, on Linux) until done is closed, then sends its peak in
// KiB, or 0 where there is no such file. Peak RSS also counts the pages
// of the program's binary that are mapped, which depend on the page cache
// more than on the program: up to 44 MiB of afflake's.
func anonPeak(pid int, done <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(path); err == nil {
				if m := rssAnonRe.FindSubmatch(b); m != nil {
					n, _ := strconv.ParseInt(string(m[1]), 10, 64)
					peak = max(peak, n)
				}
			}
			select {
			case <-done:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

var rssAnonRe = regexp.MustCompile(`(?m)^RssAnon:\s+(\d+) kB`)
