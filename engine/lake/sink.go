package lake

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/storage"
)

// DefaultMaxRowsPerFile is the rows a Parquet file gets before the sink
// starts the next one.
const DefaultMaxRowsPerFile = 1_000_000

// Options configure a Sink.
type Options struct {
	// MaxRowsPerFile is the most rows in one Parquet file; 0 means
	// DefaultMaxRowsPerFile.
	MaxRowsPerFile int
	// Parts are the partitions the sink owns (PartTransactions,
	// PartTables, PartQuarantine, or'ed); 0 means all. Close cleans up
	// stale files of the run only in the parts it owns, and writing to a
	// part it does not own is an error.
	Parts Part
}

// Part names the partitions of a run's files.
type Part int

// The parts of a run's files.
const (
	PartTransactions Part = 1 << iota
	PartTables
	PartQuarantine
	PartAll = PartTransactions | PartTables | PartQuarantine
)

// Rejected is a record that could not be mapped, kept in the quarantine
// with the reason.
type Rejected struct {
	AccountID string
	RawRef    string
	Reason    string
	FetchedAt time.Time
	// Record is the raw record as received. Valid JSON is stored as it
	// is (compacted onto one line); anything else (CSV or XML text, bytes
	// that are not UTF-8) as a JSON string, with invalid bytes replaced by
	// U+FFFD; an empty Record as null. The raw zone keeps the exact bytes.
	Record json.RawMessage
}

// Output is one file a Sink put in the lake.
type Output struct {
	Key   string `json:"key"`
	Rows  int64  `json:"rows"` // rows of a Parquet file, lines of a quarantine file
	Bytes int64  `json:"bytes"`
}

// ErrClosed is returned by a Sink's methods after Close or Abort.
var ErrClosed = errors.New("lake sink is closed")

// Sink writes the files of one network in one run, in the lake layout:
//
//	transactions/network=<n>/ingest_date=<YYYY-MM-DD>/<run_id>-<k>.parquet
//	tables/<n>/ingest_date=<YYYY-MM-DD>/<run_id>-<k>.parquet
//	quarantine/network=<n>/ingest_date=<YYYY-MM-DD>/<run_id>.jsonl
//
// k counts from 0 and a new file starts every MaxRowsPerFile rows. Files
// are staged in the store's TempDir and appear under their keys only at
// Close, each atomically, so a crash never leaves a partial file in the
// lake. The names depend only on the run ID, the network, the ingest date
// and the row counts, so a re-run of the same run ID replaces its own
// files; Close also deletes that run's files numbered beyond what it wrote
// (and its quarantine file if it rejected nothing), so no stale file of an
// earlier attempt survives.
//
// Use one Sink per network and run. Its methods are safe for concurrent
// use. A *RowError from WriteUnified or WriteTable rejects that batch only
// (nothing of it was written) and the sink goes on; any other error is
// final: later calls return it and Close discards the staged files.
type Sink struct {
	mu      sync.Mutex
	store   storage.Store
	network string
	runID   string
	date    string
	maxRows int64

	parts Part

	tableCols  []Column
	tableKinds []valueKind
	tableErr   error

	tx   part    // transactions
	tbl  part    // the network's own table
	quar *staged // the quarantine file
	qbuf *bufio.Writer
	qenc *json.Encoder

	doneMu  sync.Mutex
	done    []*staged // finished files waiting for Close
	outputs []Output
	closed  bool
	err     error
}

// part is the open Parquet file of one partition. Its own lock lets the
// transactions and the table be written concurrently.
type part struct {
	mu     sync.Mutex
	rank   int
	prefix string // partition key with trailing '/'
	next   int    // k of the next file
	file   *staged
	uw     *UnifiedWriter
	tw     *TableWriter
}

// staged is a file under the store's TempDir waiting for its key.
type staged struct {
	key  string
	path string
	f    *os.File
	rows int64
	rank int // transactions, tables, quarantine
	k    int // file number in its partition
}

// NewSink returns the sink of one run's files for network: runID names
// them, ingest (the run's time) gives their UTC ingest date, tableCols are
// the columns of the network's own table. Invalid arguments are reported
// by the first write or Close.
func NewSink(store storage.Store, network, runID string, ingest time.Time, tableCols []Column, opts Options) *Sink {
	s := &Sink{
		store:     store,
		network:   network,
		runID:     runID,
		date:      ingest.UTC().Format(time.DateOnly),
		maxRows:   int64(opts.MaxRowsPerFile),
		tableCols: append([]Column(nil), tableCols...),
	}
	if s.maxRows <= 0 {
		s.maxRows = DefaultMaxRowsPerFile
	}
	s.parts = opts.Parts
	if s.parts == 0 {
		s.parts = PartAll
	}
	switch {
	case store == nil:
		s.err = errors.New("lake sink: no store")
	case ingest.IsZero():
		s.err = errors.New("lake sink: no ingest time")
	default:
		if err := checkName("network", network); err != nil {
			s.err = err
		} else if err := checkName("run id", runID); err != nil {
			s.err = err
		}
	}
	s.tx.rank, s.tbl.rank = 0, 1
	s.tx.prefix = fmt.Sprintf("transactions/network=%s/ingest_date=%s/", network, s.date)
	s.tbl.prefix = fmt.Sprintf("tables/%s/ingest_date=%s/", network, s.date)
	if _, err := TableSchema(tableCols); err != nil {
		s.tableErr = fmt.Errorf("lake sink: table of %s: %w", network, err)
	} else {
		s.tableKinds = make([]valueKind, len(tableCols))
		for i, c := range tableCols {
			s.tableKinds[i] = kindOf(c.Type)
		}
	}
	return s
}

// checkName accepts a partition value or file name part: not empty, no
// path separators, no "." or "..", no '=' and no control characters.
func checkName(what, v string) error {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\=") {
		return fmt.Errorf("lake sink: invalid %s %q", what, v)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("lake sink: invalid %s %q", what, v)
		}
	}
	return nil
}

// QuarantineKey is the key of the run's quarantine file.
func (s *Sink) QuarantineKey() string {
	return fmt.Sprintf("quarantine/network=%s/ingest_date=%s/%s.jsonl", s.network, s.date, s.runID)
}

// check reports whether the sink still takes rows.
func (s *Sink) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usable()
}

// failLocked is fail for callers not holding s.mu.
func (s *Sink) failLocked(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail(err)
}

func (s *Sink) usable() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// fail makes err final and returns it.
func (s *Sink) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// stage creates the staged file for key.
func (s *Sink) stage(key string) (*staged, error) {
	f, err := os.CreateTemp(s.store.TempDir(), s.runID+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("lake sink: staging %s: %w", key, err)
	}
	return &staged{key: key, path: f.Name(), f: f}, nil
}

// finish syncs and closes a staged file and queues it for Close.
func (s *Sink) finish(st *staged) error {
	err := st.f.Sync()
	if cerr := st.f.Close(); err == nil {
		err = cerr
	}
	st.f = nil
	s.doneMu.Lock()
	s.done = append(s.done, st)
	s.doneMu.Unlock()
	if err != nil {
		return fmt.Errorf("lake sink: writing %s: %w", st.key, err)
	}
	return nil
}

// stagePart starts the next file of a partition.
func (s *Sink) stagePart(p *part) (*staged, error) {
	st, err := s.stage(p.prefix + s.runID + "-" + strconv.Itoa(p.next) + ".parquet")
	if err != nil {
		return nil, err
	}
	st.rank, st.k = p.rank, p.next
	p.next++
	return st, nil
}

// WriteUnified appends unified rows to the run's transactions files.
func (s *Sink) WriteUnified(rows []row.Unified) error {
	return s.writeUnified(rows, true)
}

// WriteCheckedUnified is WriteUnified for rows the caller has already
// checked with ValidateUnified: they are not checked again.
func (s *Sink) WriteCheckedUnified(rows []row.Unified) error {
	return s.writeUnified(rows, false)
}

func (s *Sink) writeUnified(rows []row.Unified, validate bool) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.parts&PartTransactions == 0 {
		return errors.New("lake sink: this sink does not write transactions")
	}
	if validate {
		if err := ValidateUnified(rows); err != nil {
			return err
		}
	}
	p := &s.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(rows) > 0 {
		if p.file == nil {
			st, err := s.stagePart(p)
			if err != nil {
				return s.failLocked(err)
			}
			p.file, p.uw = st, NewUnifiedWriter(st.f)
		}
		n := int(min(int64(len(rows)), s.maxRows-p.file.rows))
		if err := p.uw.write(rows[:n]); err != nil {
			return s.failLocked(fmt.Errorf("lake sink: writing %s: %w", p.file.key, err))
		}
		p.file.rows += int64(n)
		rows = rows[n:]
		if p.file.rows >= s.maxRows {
			if err := s.closePart(p); err != nil {
				return s.failLocked(err)
			}
		}
	}
	return nil
}

// WriteTable appends rows of the network's own table; each row holds one
// value per declared column (see TableWriter.Write).
func (s *Sink) WriteTable(rows [][]any) error {
	if err := s.tableUsable(); err != nil {
		return err
	}
	if err := validateTable(s.tableCols, s.tableKinds, rows); err != nil {
		return err
	}
	return s.writeTable(len(rows), func(tw *TableWriter, from, to int) error {
		return tw.write(rows[from:to])
	})
}

// WriteTableBatch appends the rows of b, a batch of the network's own
// table made with the sink's table columns. Like WriteTable, it checks
// every row first; on a *RowError nothing of the batch was written.
func (s *Sink) WriteTableBatch(b *TableBatch) error {
	if err := s.tableUsable(); err != nil {
		return err
	}
	if err := checkBatch(s.tableCols, b); err != nil {
		return err
	}
	return s.writeTable(b.Len(), func(tw *TableWriter, from, to int) error {
		return tw.writeBatch(b, from, to)
	})
}

func (s *Sink) tableUsable() error {
	if err := s.check(); err != nil {
		return err
	}
	if s.parts&PartTables == 0 {
		return errors.New("lake sink: this sink does not write the network table")
	}
	return s.tableErr
}

// writeTable writes rows [0, n) of checked rows with write, starting a
// new file every maxRows rows.
func (s *Sink) writeTable(n int, write func(tw *TableWriter, from, to int) error) error {
	p := &s.tbl
	p.mu.Lock()
	defer p.mu.Unlock()
	for from := 0; from < n; {
		if p.file == nil {
			st, err := s.stagePart(p)
			if err != nil {
				return s.failLocked(err)
			}
			tw, err := NewTableWriter(st.f, s.tableCols)
			if err != nil {
				st.f.Close()
				os.Remove(st.path)
				return s.failLocked(err)
			}
			p.file, p.tw = st, tw
		}
		k := int(min(int64(n-from), s.maxRows-p.file.rows))
		if err := write(p.tw, from, from+k); err != nil {
			return s.failLocked(fmt.Errorf("lake sink: writing %s: %w", p.file.key, err))
		}
		p.file.rows += int64(k)
		from += k
		if p.file.rows >= s.maxRows {
			if err := s.closePart(p); err != nil {
				return s.failLocked(err)
			}
		}
	}
	return nil
}

// closePart writes the footer of a partition's open file and finishes it.
func (s *Sink) closePart(p *part) error {
	if p.file == nil {
		return nil
	}
	var err error
	if p.uw != nil {
		err = p.uw.Close()
	} else if p.tw != nil {
		err = p.tw.Close()
	}
	st := p.file
	p.file, p.uw, p.tw = nil, nil, nil
	if ferr := s.finish(st); err == nil {
		err = ferr
	} else {
		err = fmt.Errorf("lake sink: writing %s: %w", st.key, err)
	}
	return err
}

// quarantineLine is one line of a quarantine file, fields in this order.
type quarantineLine struct {
	Network   string          `json:"network"`
	AccountID string          `json:"account_id"`
	RunID     string          `json:"run_id"`
	RawRef    string          `json:"raw_ref"`
	FetchedAt time.Time       `json:"fetched_at"`
	Reason    string          `json:"reason"`
	Record    json.RawMessage `json:"record"`
}

// Quarantine appends a rejected record to the run's quarantine file.
func (s *Sink) Quarantine(q Rejected) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.parts&PartQuarantine == 0 {
		return errors.New("lake sink: this sink does not write the quarantine")
	}
	if s.quar == nil {
		st, err := s.stage(s.QuarantineKey())
		if err != nil {
			return s.fail(err)
		}
		st.rank = 2
		s.quar = st
		s.qbuf = bufio.NewWriterSize(st.f, 64<<10)
		s.qenc = json.NewEncoder(s.qbuf)
		s.qenc.SetEscapeHTML(false)
	}
	rec := q.Record
	switch {
	case len(rec) == 0:
		rec = json.RawMessage("null")
	case !json.Valid(rec) || !utf8.Valid(rec):
		b, _ := json.Marshal(string(rec))
		rec = b
	}
	line := quarantineLine{
		Network:   s.network,
		AccountID: q.AccountID,
		RunID:     s.runID,
		RawRef:    q.RawRef,
		FetchedAt: q.FetchedAt.UTC(),
		Reason:    q.Reason,
		Record:    rec,
	}
	// Encode compacts the record, so each rejection is exactly one line.
	if err := s.qenc.Encode(&line); err != nil {
		return s.fail(fmt.Errorf("lake sink: writing %s: %w", s.quar.key, err))
	}
	s.quar.rows++
	return nil
}

// Close finishes every open file, moves each to its key with
// Store.PutFile, and deletes the files of an earlier attempt of the same
// run that this one did not write. On error the files not yet moved are
// discarded.
func (s *Sink) Close() error { return s.CloseContext(context.Background()) }

// CloseContext is Close with a context for the store's operations.
func (s *Sink) CloseContext(ctx context.Context) error {
	s.tx.mu.Lock()
	defer s.tx.mu.Unlock()
	s.tbl.mu.Lock()
	defer s.tbl.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	if err := s.err; err != nil {
		s.abort()
		return err
	}
	err := s.closePart(&s.tx)
	if e := s.closePart(&s.tbl); err == nil {
		err = e
	}
	if s.quar != nil {
		e := s.qbuf.Flush()
		if e != nil {
			e = fmt.Errorf("lake sink: writing %s: %w", s.quar.key, e)
		}
		if fe := s.finish(s.quar); e == nil {
			e = fe
		}
		if err == nil {
			err = e
		}
		s.quar, s.qbuf, s.qenc = nil, nil, nil
	}
	if err != nil {
		s.fail(err)
		s.abort()
		return err
	}
	// Put in a fixed order: transactions, tables, quarantine, by k.
	slices.SortFunc(s.done, func(a, b *staged) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.k, b.k))
	})
	for i, st := range s.done {
		fi, err := os.Stat(st.path)
		if err == nil {
			err = s.store.PutFile(ctx, st.key, st.path)
		}
		if err != nil {
			s.done = s.done[i:]
			s.fail(fmt.Errorf("lake sink: %s: %w", st.key, err))
			s.abort()
			return s.err
		}
		s.outputs = append(s.outputs, Output{Key: st.key, Rows: st.rows, Bytes: fi.Size()})
	}
	s.done = nil
	s.closed = true
	if err := s.removeStale(ctx); err != nil {
		return s.fail(err)
	}
	return nil
}

// removeStale deletes this run's files that an earlier attempt wrote and
// this one did not: Parquet files numbered k >= the count written in each
// partition, and the quarantine file if nothing was quarantined.
func (s *Sink) removeStale(ctx context.Context) error {
	for _, p := range []*part{&s.tx, &s.tbl} {
		if (p == &s.tx && s.parts&PartTransactions == 0) || (p == &s.tbl && s.parts&PartTables == 0) {
			continue
		}
		keys, err := s.store.List(ctx, p.prefix+s.runID+"-")
		if err != nil {
			return fmt.Errorf("lake sink: listing %s: %w", p.prefix, err)
		}
		for _, key := range keys {
			k, ok := fileIndex(strings.TrimPrefix(key, p.prefix), s.runID)
			if !ok || k < p.next {
				continue
			}
			if err := s.store.Delete(ctx, key); err != nil {
				return fmt.Errorf("lake sink: deleting stale %s: %w", key, err)
			}
		}
	}
	qkey := s.QuarantineKey()
	if s.parts&PartQuarantine == 0 {
		return nil
	}
	for _, o := range s.outputs {
		if o.Key == qkey {
			return nil
		}
	}
	if err := s.store.Delete(ctx, qkey); err != nil {
		return fmt.Errorf("lake sink: deleting stale %s: %w", qkey, err)
	}
	return nil
}

// fileIndex parses name as "<runID>-<k>.parquet" with k written the way
// the sink writes it.
func fileIndex(name, runID string) (int, bool) {
	rest, ok := strings.CutPrefix(name, runID+"-")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".parquet")
	if !ok || digits == "" {
		return 0, false
	}
	k, err := strconv.Atoi(digits)
	if err != nil || k < 0 || strconv.Itoa(k) != digits {
		return 0, false
	}
	return k, true
}

// Abort discards the run's staged files: nothing more appears in the lake.
// Files that an earlier Close already moved stay.
func (s *Sink) Abort() {
	s.tx.mu.Lock()
	defer s.tx.mu.Unlock()
	s.tbl.mu.Lock()
	defer s.tbl.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abort()
}

func (s *Sink) abort() {
	for _, p := range []*part{&s.tx, &s.tbl} {
		if p.file != nil {
			p.file.f.Close()
			os.Remove(p.file.path)
			p.file, p.uw, p.tw = nil, nil, nil
		}
	}
	if s.quar != nil {
		s.quar.f.Close()
		os.Remove(s.quar.path)
		s.quar, s.qbuf, s.qenc = nil, nil, nil
	}
	for _, st := range s.done {
		os.Remove(st.path)
	}
	s.done = nil
	s.closed = true
}

// Files are the keys Close put in the lake, in the order they were
// finished.
func (s *Sink) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, o := range s.outputs {
		keys = append(keys, o.Key)
	}
	return keys
}

// Outputs are the files Close put in the lake with their row and byte
// counts, for the run manifest.
func (s *Sink) Outputs() []Output {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Output(nil), s.outputs...)
}
