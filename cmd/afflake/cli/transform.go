package cli

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/run"
	"github.com/afflake/afflake/engine/spectest"
	"github.com/afflake/afflake/engine/storage"
	"github.com/afflake/afflake/engine/transform"
)

func init() {
	register(command{name: "transform", summary: "map stored response bodies into Parquet (no network access)", run: runTransform})
}

func runTransform(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("transform", "--network N --in FILE|DIR --out DIR [--account ID]", stderr)
	network := fs.String("network", "", "the network whose spec maps the bodies (required)")
	in := fs.String("in", "", "a response body, or a directory of them (.json, .csv, .xml, optionally gzipped) (required)")
	out := fs.String("out", "", "the lake to write: a directory, or s3://bucket/prefix (required)")
	account := fs.String("account", "unknown", "the account the bodies belong to (without it, a raw zone body's own, from its .meta.json, or the account of a fixtures directory, from the account.json beside the bodies)")
	currency := fs.String("currency", "", "the account's currency, for records that carry none (without it, a raw zone body's account's)")
	timezone := fs.String("timezone", "", "the account's time zone (IANA name), account.timezone in specs")
	specs := fs.String("specs", "specs", "the specs directory")
	runID := fs.String("run-id", "", "the run ID in file names and lineage (default: transform-<UTC time>-<random>)")
	workers := fs.Int("workers", 0, "bodies mapped in parallel (default: one per CPU)")
	if st, ok := parse(fs, args); !ok {
		return st
	}
	if *network == "" || *in == "" || *out == "" {
		fmt.Fprintln(stderr, "afflake transform: --network, --in and --out are required")
		fs.Usage()
		return ExitUsage
	}
	if *timezone != "" {
		if _, err := time.LoadLocation(*timezone); err != nil {
			fmt.Fprintf(stderr, "afflake transform: --timezone: unknown time zone %q\n", *timezone)
			return ExitUsage
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	set, ok := loadSpecs(stderr, *specs, *network)
	if !ok {
		return ExitUsage
	}
	sp, ok := set.Specs[*network]
	if !ok {
		fmt.Fprintf(stderr, "afflake transform: no spec for network %q (have %s)\n", *network, strings.Join(set.Names(), ", "))
		return ExitUsage
	}
	bodies, err := bodyFiles(*in)
	if err != nil {
		fmt.Fprintf(stderr, "afflake transform: %v\n", err)
		return ExitUsage
	}
	// The account of the bodies: --account, else each body's own, as
	// the raw zone's meta or a fixtures directory's account.json keeps
	// it; --currency and --timezone override.
	groups := accountGroups(bodies, given["account"], *account)
	for i := range groups {
		a := &groups[i].acct
		if given["currency"] {
			a.Currency = *currency
		}
		if *timezone != "" {
			a.Extra["timezone"] = *timezone
		}
	}
	// An interrupt stops the transform: what it staged is removed, and
	// nothing is left half-written.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, release, ok := openLake(ctx, stderr, "transform", *out)
	if !ok {
		return ExitUsage
	}
	defer release()
	now := time.Now().UTC()
	if *runID == "" {
		*runID = newRunID("transform-", now)
	}
	job := transform.Job{Spec: sp, RunID: *runID, FetchedAt: now, Workers: *workers}
	stopProgress := func() {}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		p := &transformProgress{network: sp.Name, bodies: len(bodies), start: time.Now()}
		job.Progress = p.update
		stopProgress = showProgress(f, p.line)
	}
	m := &run.Manifest{RunID: *runID, Lake: store.String(), Started: now}
	st, res, err := transformBodies(ctx, store, job, groups, func(acct string, e error) {
		fmt.Fprintf(stderr, "%s account %s: %v\n", sp.Name, acct, e)
	})
	stopProgress()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted: nothing was written")
		}
		fmt.Fprintf(stderr, "afflake transform: %v\n", err)
		return ExitFailed
	}
	// The manifest says what was read and written, and why records
	// were quarantined, as a run's does.
	m.Networks = []run.NetworkResult{res}
	m.Finish()
	if err := m.Write(ctx, store); err != nil {
		fmt.Fprintf(stderr, "afflake transform: writing the manifest: %v\n", err)
		return ExitFailed
	}
	printStats(stdout, sp.Name, st)
	// Where each file is, as --out names the lake.
	where := func(key string) string {
		if _, local := store.(*storage.LocalStore); local {
			return filepath.Join(*out, filepath.FromSlash(key))
		}
		return strings.TrimSuffix(*out, "/") + "/" + key
	}
	for _, f := range res.Files {
		fmt.Fprintf(stdout, "  wrote %s\n", where(f.Key))
	}
	fmt.Fprintf(stdout, "  wrote %s\n", where(run.ManifestKey(*runID)))
	if m.Failed() {
		return ExitFailed
	}
	return ExitOK
}

// accountGroup is the bodies of one account.
type accountGroup struct {
	acct   mapping.Account
	inputs []transform.Input
}

// accountGroups groups bodies by account: all under id when given (or
// when a body has neither meta nor account file), else by the account each
// body's meta or account file names, with its configuration, in the order
// the accounts first appear.
func accountGroups(bodies []body, given bool, id string) []accountGroup {
	var groups []accountGroup
	at := map[string]int{}
	for _, b := range bodies {
		acct := mapping.AccountOf(id, nil)
		switch {
		case given:
		case b.meta != nil && b.meta.AccountID != "":
			acct = mapping.AccountOf(b.meta.AccountID, b.meta.Account)
		case b.acct != nil:
			acct = *b.acct
			if acct.ID == "" {
				acct.ID = id
			}
		}
		i, ok := at[acct.ID]
		if !ok {
			i = len(groups)
			at[acct.ID] = i
			groups = append(groups, accountGroup{acct: acct})
		}
		groups[i].inputs = append(groups[i].inputs, b.input)
	}
	return groups
}

// transformBodies runs one network's transform of each account's bodies
// into the lake, through one Sink of its own to store, and returns the
// counts of all and, for the manifest, those of each account and the
// files written. Each body that could not be read is given to bodyErr
// with its account.
func transformBodies(ctx context.Context, store storage.Store, job transform.Job, groups []accountGroup, bodyErr func(acct string, err error)) (transform.Stats, run.NetworkResult, error) {
	start := time.Now()
	res := run.NetworkResult{Network: job.Spec.Name, SpecHash: job.Spec.Hash}
	job.Sink = lake.NewSink(store, job.Spec.Name, job.RunID, job.FetchedAt, mapping.TableColumns(job.Spec), lake.Options{})
	sink := job.Sink
	var st transform.Stats
	progress := job.Progress
	for _, g := range groups {
		job.Account = g.acct
		if progress != nil {
			done := st.Counts()
			job.Progress = func(s transform.Stats) {
				s.Add(done)
				progress(s)
			}
		}
		gst, err := transform.Run(ctx, job, g.inputs)
		for _, e := range gst.Errors {
			bodyErr(g.acct.ID, e)
		}
		st.Add(gst)
		if err != nil {
			sink.Abort()
			return st, res, err
		}
		ar := run.AccountResult{Account: g.acct.ID, Pages: int64(len(g.inputs))}
		for _, in := range g.inputs {
			ar.Bytes += in.Size
		}
		ar.SetCounts(&gst)
		res.Accounts = append(res.Accounts, ar)
	}
	if err := sink.Close(); err != nil {
		return st, res, err
	}
	res.Files = sink.Outputs()
	res.Seconds = time.Since(start).Seconds()
	return st, res, nil
}

// transformProgress is the line a terminal shows while bodies are
// mapped.
type transformProgress struct {
	network string
	bodies  int
	start   time.Time
	mu      sync.Mutex
	st      transform.Stats
}

func (p *transformProgress) update(st transform.Stats) {
	p.mu.Lock()
	p.st = st
	p.mu.Unlock()
}

func (p *transformProgress) line() string {
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	s := fmt.Sprintf("%s: %d of %d bodies, %d records", p.network, st.Bodies, p.bodies, st.Records)
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		s += fmt.Sprintf(" (%.0f/s)", float64(st.Records)/secs)
	}
	if st.Quarantined > 0 {
		s += fmt.Sprintf(", %d quarantined", st.Quarantined)
	}
	if st.BodiesFailed > 0 {
		s += fmt.Sprintf(", %d unreadable", st.BodiesFailed)
	}
	return s
}

func printStats(w io.Writer, network string, st transform.Stats) {
	fmt.Fprintf(w, "%s: %s (%d unreadable), %s read = %s written + %d quarantined",
		network, count(st.Bodies, "body", "bodies"), st.BodiesFailed, count(st.Records, "record", "records"),
		count(st.Rows, "row", "rows"), st.Quarantined)
	if st.Rounded > 0 {
		fmt.Fprintf(w, "; %s rounded to 6 decimals", count(st.Rounded, "amount", "amounts"))
	}
	fmt.Fprintln(w)
	// Why records were quarantined, most first: the file has each one.
	var listed int64
	for _, r := range st.TopReasons(5) {
		fmt.Fprintf(w, "  %d quarantined: %s\n", r.Records, r.Reason)
		listed += r.Records
	}
	if rest := st.Quarantined - listed; rest > 0 {
		fmt.Fprintf(w, "  %d more quarantined for other reasons\n", rest)
	}
}

// count is n and the noun, singular for one.
func count[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// body is a response body in a file, with the meta the raw zone keeps
// beside it, if any, and the account of a fixtures directory, from the
// account file beside it, if any.
type body struct {
	input transform.Input
	meta  *lake.RawMeta
	acct  *mapping.Account
}

// bodyFiles lists the response bodies at path: a file, or every body
// file under a directory (isBody; not .meta.json), in name order.
func bodyFiles(path string) ([]body, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if !fi.IsDir() {
		files = []string{path}
	} else {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() || strings.HasSuffix(strings.ToLower(name), ".meta.json") || name == spectest.AccountFile {
				return nil
			}
			if isBody(name) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no response bodies (.json, .csv, .xml, optionally .gz) under %s", path)
		}
	}
	sort.Strings(files)
	bodies := make([]body, len(files))
	accounts := map[string]*mapping.Account{} // by directory
	for i, f := range files {
		f := f
		size, err := bodySize(f)
		if err != nil {
			return nil, err
		}
		bodies[i].input = transform.Input{
			Ref:  filepath.ToSlash(f),
			Read: func() ([]byte, error) { return os.ReadFile(f) },
			Open: func() (io.ReadCloser, error) { return os.Open(f) },
			Size: size,
		}
		if bodies[i].meta, err = readMeta(f); err != nil {
			return nil, err
		}
		if bodies[i].meta != nil {
			// A body from a lake's raw zone was received when its
			// meta says, not when it is transformed.
			bodies[i].input.FetchedAt = bodies[i].meta.Received()
			continue
		}
		dir := filepath.Dir(f)
		acct, seen := accounts[dir]
		if !seen {
			a, ok, err := spectest.ReadAccount(dir)
			if err != nil {
				return nil, err
			}
			if ok {
				acct = &a
			}
			accounts[dir] = acct
		}
		bodies[i].acct = acct
	}
	return bodies, nil
}

// bodySize is how large the body in a file is: its size, or for a
// gzipped file the size its trailer gives (modulo 4 GiB, as gzip keeps it;
// a larger body still counts as large).
func bodySize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var head [2]byte
	var tail [4]byte
	if fi.Size() < 18 {
		return fi.Size(), nil
	}
	if _, err := f.ReadAt(head[:], 0); err != nil || head != [2]byte{0x1f, 0x8b} {
		return fi.Size(), err
	}
	if _, err := f.ReadAt(tail[:], fi.Size()-4); err != nil {
		return 0, err
	}
	return max(int64(binary.LittleEndian.Uint32(tail[:])), fi.Size()), nil
}

// readMeta reads the .meta.json beside a body, as the raw zone keeps it;
// nil when there is none.
func readMeta(body string) (*lake.RawMeta, error) {
	path := lake.MetaKey(body)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m lake.RawMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &m, nil
}

// isBody reports whether a file's name is a body's, in any case
// (EXPORT.CSV): .json, .csv or .xml, optionally .gz.
func isBody(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	for _, ext := range []string{".json", ".csv", ".xml"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}
