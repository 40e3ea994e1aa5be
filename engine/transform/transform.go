// Package transform maps stored response bodies into the lake: extract
// the records, map each into the network's table and the unified table,
// and quarantine what cannot be mapped. It never touches the network.
package transform

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// Input is one stored response body.
type Input struct {
	// Ref names the body in raw_ref and in errors (a raw key or a file).
	Ref string
	// Where, when set, names the body in errors instead of Ref, e.g.
	// "<network> account 1 window 2026-10-01..2026-11-01 page 2".
	Where string
	// Read returns the body. It is called once, by one worker.
	Read func() ([]byte, error)
	// Open, when set, reads the body as a stream, as often as it is
	// called; Size is then how large the body is (unzipped), to tell a
	// body to stream from one to Read whole.
	Open func() (io.ReadCloser, error)
	Size int64
	// FetchedAt is when the body was received; zero means Job.FetchedAt.
	FetchedAt time.Time
}

// Job is the transform of one network's bodies for one account.
type Job struct {
	Spec      *spec.Spec
	Account   mapping.Account
	Sink      *lake.Sink
	RunID     string
	FetchedAt time.Time
	// Workers map bodies in parallel; 0 means one per CPU.
	Workers int
	// Rows receives the unified rows; nil means Sink. A run sends them
	// to change detection instead of straight to the lake.
	Rows RowWriter
	// Progress, when set, is called with the counts so far (Counts: no
	// errors, no reasons) each time a batch of records (or a body that
	// could not be read) is done, from one goroutine: it must be quick.
	Progress func(Stats)
}

// RowWriter takes unified rows.
type RowWriter interface {
	WriteUnified(rows []row.Unified) error
}

// Stats counts what a transform did. Records = Rows + Quarantined.
type Stats struct {
	Bodies       int
	BodiesFailed int
	Records      int64
	Rows         int64
	Quarantined  int64
	// Rounded counts amounts that had more than six fractional digits.
	Rounded int64
	// Errors are the bodies that could not be read, each naming its body.
	Errors []error
	// Reasons counts the quarantined records by reason (without the
	// record's index), at most maxReasons of them; the records of other
	// reasons are counted under OtherReasons.
	Reasons map[string]int64
}

// OtherReasons is the key of Stats.Reasons that counts the records of
// reasons beyond the first maxReasons.
const OtherReasons = "…"

// maxReasons bounds Stats.Reasons: a reason may hold a record's value,
// and a run must not keep one per record.
const maxReasons = 100

// quarantined counts a record sent to quarantine for reason.
func (s *Stats) quarantined(reason string, n int64) {
	s.Quarantined += n
	s.addReason(reason, n)
}

func (s *Stats) addReason(reason string, n int64) {
	if s.Reasons == nil {
		s.Reasons = map[string]int64{}
	}
	if _, ok := s.Reasons[reason]; !ok && len(s.Reasons) >= maxReasons {
		reason = OtherReasons
	}
	s.Reasons[reason] += n
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Bodies += o.Bodies
	s.BodiesFailed += o.BodiesFailed
	s.Records += o.Records
	s.Rows += o.Rows
	s.Quarantined += o.Quarantined
	s.Rounded += o.Rounded
	s.Errors = append(s.Errors, o.Errors...)
	for r, n := range o.Reasons {
		s.addReason(r, n)
	}
}

// Counts is s without its errors and reasons: the numbers alone, which
// share nothing with s.
func (s Stats) Counts() Stats {
	s.Errors, s.Reasons = nil, nil
	return s
}

// TopReasons are the n reasons that quarantined the most records, most
// first (ties in the reasons' order), with their counts; the records of
// other reasons are Quarantined less theirs.
func (s *Stats) TopReasons(n int) []Reason {
	out := make([]Reason, 0, len(s.Reasons))
	for r, c := range s.Reasons {
		if r != OtherReasons {
			out = append(out, Reason{r, c})
		}
	}
	slices.SortFunc(out, func(a, b Reason) int {
		if a.Records != b.Records {
			return cmp.Compare(b.Records, a.Records)
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out[:min(n, len(out))]
}

// Reason is a reason records were quarantined for, and how many.
type Reason struct {
	Reason  string `json:"reason"`
	Records int64  `json:"records"`
}

// BodyError is a body that could not be read; nothing of it was written.
type BodyError struct {
	Ref string
	Err error
}

func (e *BodyError) Error() string { return e.Ref + ": " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

const batchSize = 256

// A JSON or CSV body larger than streamAbove that extract.Streamable
// allows is not read whole: it is checked as a stream, then mapped in parts of
// about partSize bytes, in parallel, in memory that does not grow with
// it (see extract.Scan).
var (
	streamAbove int64 = 64 << 20
	partSize          = 4 << 20
)

// unit is the work of a worker: a body, or a part of a streamed body.
type unit struct {
	inp   Input
	part  []byte        // a part of a streamed body, else nil
	plan  *extract.Plan // the part's body
	first int           // index in the body of the part's first record
	head  bool          // the body's first unit, which counts the body
	err   error         // the body cannot be read
}

type batch struct {
	unified []row.Unified
	table   *lake.TableBatch
	rejects []lake.Rejected
	stats   Stats
}

// Run maps every input. A body that cannot be read is reported in
// Stats.Errors and the others go on; the returned error is a failure of
// the lake itself (nothing more can be written).
func Run(ctx context.Context, job Job, inputs []Input) (Stats, error) {
	in := make(chan Input)
	go func() {
		defer close(in)
		for _, inp := range inputs {
			select {
			case in <- inp:
			case <-ctx.Done():
				return
			}
		}
	}()
	return Stream(ctx, job, in)
}

// Stream maps inputs as they arrive, until in is closed.
func Stream(ctx context.Context, job Job, in <-chan Input) (Stats, error) {
	workers := job.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make(chan *batch, workers)
	// Table batches go back to the workers once written.
	free := make(chan *lake.TableBatch, workers+2)
	// The parts of a large body go to whichever worker is free; the
	// worker reading the body maps those no other worker takes.
	parts := make(chan unit)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{job: job, m: mapping.New(job.Spec, job.Account), cols: mapping.TableColumns(job.Spec), out: out, free: free, parts: parts}
			for {
				select {
				case u := <-parts:
					w.mapBody(ctx, u)
				case inp, ok := <-in:
					switch {
					case !ok:
						return
					case ctx.Err() != nil:
						// Drained unread: the sender of in need
						// not watch ctx.
					default:
						w.take(ctx, inp)
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	// The unified and the network table are written by two goroutines:
	// each Parquet writer runs on its own core while workers map.
	var st Stats
	tables := make(chan *lake.TableBatch, 1)
	tableErr := make(chan error, 1)
	go func() {
		var err error
		for tb := range tables {
			if err == nil {
				if err = job.Sink.WriteTableBatch(tb); err != nil {
					err = fmt.Errorf("writing the network table: %w", err)
				}
			}
			tb.Reset()
			select {
			case free <- tb:
			default:
			}
		}
		tableErr <- err
	}()
	var sinkErr error
	for b := range out {
		st.Add(b.stats)
		if job.Progress != nil {
			job.Progress(st.Counts())
		}
		if sinkErr != nil {
			continue // drain
		}
		if b.table != nil && b.table.Len() > 0 {
			tables <- b.table
		}
		rows := job.Rows
		if rows == nil {
			rows = job.Sink
		}
		sinkErr = write(job.Sink, rows, b)
	}
	close(tables)
	if err := <-tableErr; sinkErr == nil {
		sinkErr = err
	}
	if sinkErr == nil {
		sinkErr = ctx.Err()
	}
	return st, sinkErr
}

func write(s *lake.Sink, rows RowWriter, b *batch) error {
	if len(b.unified) > 0 {
		var err error
		if rows == RowWriter(s) {
			// Each row was checked when it was mapped.
			err = s.WriteCheckedUnified(b.unified)
		} else {
			err = rows.WriteUnified(b.unified)
		}
		if err != nil {
			return fmt.Errorf("writing transactions: %w", err)
		}
	}
	for _, r := range b.rejects {
		if err := s.Quarantine(r); err != nil {
			return fmt.Errorf("writing the quarantine: %w", err)
		}
	}
	return nil
}

// take maps inp: whole, or, when it is a large body, in parts once
// all of it was checked, sending each part to a free worker or mapping
// it here.
func (w *worker) take(ctx context.Context, inp Input) {
	job := w.job
	resp := job.Spec.Response
	if inp.Open == nil || inp.Size <= streamAbove || !extract.Streamable(resp) {
		w.mapBody(ctx, unit{inp: inp, head: true})
		return
	}
	scan := func() (*extract.Plan, error) {
		rc, err := inp.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return extract.Scan(ctxReader{ctx, rc}, resp, partSize)
	}
	plan, err := scan()
	switch {
	case ctx.Err() != nil:
		return
	case errors.Is(err, extract.ErrNotStreamable):
		w.mapBody(ctx, unit{inp: inp, head: true}) // read whole, as the spec says
		return
	case err != nil:
		w.mapBody(ctx, unit{inp: inp, head: true, err: err})
		return
	}
	rc, err := inp.Open()
	if err != nil {
		w.mapBody(ctx, unit{inp: inp, head: true, err: err})
		return
	}
	defer rc.Close()
	sent := false
	err = plan.Parts(ctxReader{ctx, rc}, resp, func(part []byte, first int) error {
		u := unit{inp: inp, part: part, plan: plan, first: first, head: !sent}
		sent = true
		select {
		case w.parts <- u:
		default:
			w.mapBody(ctx, u)
		}
		return ctx.Err()
	})
	if err != nil && ctx.Err() == nil {
		// Checked whole, the body then failed to read again (it
		// changed, or the disk failed): the records of the parts
		// mapped before are written.
		w.mapBody(ctx, unit{inp: inp, head: !sent, err: err})
	}
}

// ctxReader reads r until ctx is done: a large body's reading stops
// when the transform is stopped.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// worker maps bodies with its own mapper.
type worker struct {
	job   Job
	m     *mapping.Mapper
	cols  []lake.Column
	out   chan<- *batch
	free  chan *lake.TableBatch
	parts chan unit // parts of large bodies, shared by the workers
	ref   []byte
}

// mapBody maps one body, or part of one, sending batches to out.
func (w *worker) mapBody(ctx context.Context, u unit) {
	job, m, out, inp := w.job, w.m, w.out, u.inp
	fetched := inp.FetchedAt
	if fetched.IsZero() {
		fetched = job.FetchedAt
	}
	bodies := 0
	if u.head {
		bodies = 1
	}
	fail := func(err error) {
		where := inp.Where
		if where == "" {
			where = inp.Ref
		}
		out <- &batch{stats: Stats{Bodies: bodies, BodiesFailed: 1, Errors: []error{&BodyError{Ref: where, Err: err}}}}
	}
	if u.err != nil {
		fail(u.err)
		return
	}
	var doc extract.Doc
	var err error
	if u.part != nil {
		doc, err = u.plan.Read(u.part, job.Spec.Response)
	} else {
		var body []byte
		if body, err = inp.Read(); err == nil {
			doc, err = extract.Read(body, job.Spec.Response)
		}
	}
	if err != nil {
		fail(err)
		return
	}
	arr, err := doc.Records()
	if err != nil {
		// An error stored as the API sent it: name it.
		if msg, _ := job.Spec.ResponseError(expr.ResponseVars(doc.Root, map[string]string{}, map[string]any{})); msg != "" {
			err = fmt.Errorf("the response reports an error: %s", msg)
		}
		fail(err)
		return
	}
	// Strings read from a document of valid UTF-8 need no check of
	// their own. When the document is not, the records may still be.
	valid := doc.UTF8 || utf8.ValidString(arr.Raw)
	// The engine's own columns are the same for every record of the
	// body but raw_ref's index: checked once here, not per record.
	validate := lake.ValidateUnified
	if utf8.ValidString(inp.Ref) && utf8.ValidString(job.RunID) && utf8.ValidString(job.Account.ID) &&
		utf8.ValidString(job.Spec.Name) && utf8.ValidString(job.Spec.Hash) {
		validate = lake.ValidateMapped
	}
	b := w.newBatch()
	b.stats.Bodies = bodies
	rounded0 := m.Rounded
	w.ref = append(w.ref[:0], inp.Ref...)
	w.ref = append(w.ref, '#')
	prefix := len(w.ref)
	_ = w.each(arr, func(i int, rec gjson.Result) error {
		if len(b.unified)+len(b.rejects) >= batchSize {
			b.stats.Rounded = m.Rounded - rounded0
			rounded0 = m.Rounded
			out <- b
			b = w.newBatch()
		}
		b.stats.Records++
		i += u.first
		w.ref = strconv.AppendInt(w.ref[:prefix], int64(i), 10)
		ref := string(w.ref)
		lin := mapping.Lineage{RunID: job.RunID, RawRef: ref, FetchedAt: fetched}
		b.unified = append(b.unified, row.Unified{})
		u := &b.unified[len(b.unified)-1]
		err := m.MapBatch(rec, lin, u, b.table, valid)
		if err == nil {
			err = m.WriteError(validate(b.unified[len(b.unified)-1:]), true)
		}
		if err == nil {
			err = m.WriteError(b.table.RowErr(), false)
		}
		if err != nil {
			b.unified = b.unified[:len(b.unified)-1]
			reason := err.Error()
			b.rejects = append(b.rejects, lake.Rejected{
				AccountID: job.Account.ID, RawRef: ref, FetchedAt: fetched,
				Reason: fmt.Sprintf("record %d: %s", i, reason), Record: []byte(rec.Raw),
			})
			b.stats.quarantined(reason, 1)
			return ctx.Err()
		}
		b.table.Commit()
		b.stats.Rows++
		return ctx.Err()
	})
	b.stats.Rounded = m.Rounded - rounded0
	out <- b
}

// each calls fn for each record of arr, as extract.Each does. The mapper
// reads each object record as it finds where it ends, so that a record
// is read once; from an element it does not read that way on, the rest
// of the array is read with gjson.
func (w *worker) each(arr gjson.Result, fn func(i int, rec gjson.Result) error) error {
	text := arr.Raw
	i := 1 // after '['
	for n := 0; ; n++ {
		i = skipSpace(text, i)
		if i >= len(text) || text[i] == ']' {
			return nil
		}
		rec, ok := w.m.Next(text[i:], arr.Index+i)
		if !ok {
			rest := gjson.Result{Type: gjson.JSON, Raw: "[" + text[i:], Index: arr.Index + i - 1}
			return extract.Each(rest, func(k int, rec gjson.Result) error { return fn(n+k, rec) })
		}
		if err := fn(n, rec); err != nil {
			return err
		}
		i = skipSpace(text, i+len(rec.Raw))
		if i < len(text) && text[i] == ',' {
			i++
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	return i
}

func (w *worker) newBatch() *batch {
	var tb *lake.TableBatch
	select {
	case tb = <-w.free:
	default:
		tb = lake.NewTableBatch(w.cols, batchSize)
	}
	return &batch{unified: make([]row.Unified, 0, batchSize), table: tb}
}
