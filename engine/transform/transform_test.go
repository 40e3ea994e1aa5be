package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
)

// awinSpec loads the project's awin spec.
func awinSpec(tb testing.TB) *spec.Spec {
	tb.Helper()
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	return set.Specs["awin"]
}

// awinFixture is the project's awin fixture body.
func awinFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "awin", "transactions.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestEachMatchesExtract checks that the workers' one-pass reading of a
// record array yields the records extract.Each yields.
func TestEachMatchesExtract(t *testing.T) {
	sp := awinSpec(t)
	arrays := []string{
		`[]`,
		` [ ] `,
		`[{"a":1},{"b":{"c":[1,2,{"d":"}"}]}} , {"e":"\"]"}]`,
		`[{"a":1},2,"x",null,{"b":2},[1],{"c":3}]`,
		`[{"k\"ey":1},{"a":2}]`,
		"[\n\t{\"a\":1}\n,\n{\"a\":2}\n]",
		`[{},{"a":{}}]`,
	}
	for _, src := range arrays {
		if !gjson.Parse(src).IsArray() {
			t.Fatalf("%s is not an array", src)
		}
		checkEach(t, sp, src)
	}
}

// FuzzEachMatchesExtract: for any valid JSON array, seeded with the
// arrays above and the fixtures' bodies, the one-pass reading yields the
// records gjson does.
func FuzzEachMatchesExtract(f *testing.F) {
	sp := awinSpec(f)
	bodies, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.json"))
	for _, b := range bodies {
		if src, err := os.ReadFile(b); err == nil {
			f.Add(string(src))
		}
	}
	f.Add(`[{"a":1},{"b":{"c":[1,2,{"d":"}"}]}} , {"e":"\"]"}]`)
	f.Add(`[{"a":1},2,"x",null,{"b":2},[1],{"c":3}]`)
	f.Fuzz(func(t *testing.T, src string) {
		if !gjson.Valid(src) || !gjson.Parse(src).IsArray() {
			return
		}
		checkEach(t, sp, src)
	})
}

// checkEach compares the workers' reading of the array src with gjson's.
func checkEach(t *testing.T, sp *spec.Spec, src string) {
	t.Helper()
	arr := gjson.Parse(src)
	type got struct {
		i   int
		raw string
		typ gjson.Type
	}
	var want, have []got
	arr.ForEach(func(_, v gjson.Result) bool {
		want = append(want, got{len(want), v.Raw, v.Type})
		return true
	})
	w := &worker{m: mapping.New(sp, mapping.Account{ID: "a"})}
	if err := w.each(arr, func(i int, rec gjson.Result) error {
		have = append(have, got{i, rec.Raw, rec.Type})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(have) != len(want) {
		t.Fatalf("%s: %d records, want %d", src, len(have), len(want))
	}
	for k := range want {
		if have[k] != want[k] {
			t.Errorf("%s: record %d is %+v, want %+v", src, k, have[k], want[k])
		}
	}
}

// TestInvalidUTF8Quarantined checks that a record holding a string that
// is not UTF-8 goes to quarantine with the column it would have broken,
// wherever the string is (a network-table column, a unified field, a
// field only the raw record keeps), and that the other records of the
// body are written.
func TestInvalidUTF8Quarantined(t *testing.T) {
	sp := awinSpec(t)
	fixture := awinFixture(t)
	good := gjson.GetBytes(fixture, "0").Raw
	set1 := func(path, value string) string {
		out, err := sjsonSetRaw(good, path, value)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	recs := []string{
		good,
		set1("siteName", "\"Caf\xe9\""),    // Latin-1, in a column of the network table only
		set1("note", "\"\xff\""),           // in a field no column reads
		set1("orderRef", "\"ORD-\xc3-1\""), // in a unified field too
		good,
	}
	body := "[" + strings.Join(recs, ",") + "]"
	dir := t.TempDir()
	store, err := storage.Local(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	sink := lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	st, err := Run(context.Background(), Job{Spec: sp, Account: mapping.Account{ID: "189069", Currency: "GBP"}, Sink: sink, RunID: "t", FetchedAt: now},
		[]Input{{Ref: "body.json", Read: func() ([]byte, error) { return []byte(body), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Records != 5 || st.Rows != 2 || st.Quarantined != 3 || len(st.Errors) != 0 {
		t.Fatalf("stats %+v, want 5 records = 2 rows + 3 quarantined", st)
	}
	qs, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*", "*", "*.jsonl"))
	if len(qs) != 1 {
		t.Fatalf("quarantine files %v, want one", qs)
	}
	q, err := os.ReadFile(qs[0])
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, line := range strings.Split(strings.TrimSpace(string(q)), "\n") {
		reasons = append(reasons, gjson.Get(line, "reason").String())
	}
	want := []string{
		"record 1: columns.site_name: string is not valid UTF-8 (a body in another encoding needs response.charset)",
		"record 2: raw_record: string is not valid UTF-8 (a body in another encoding needs response.charset)",
		"record 3: transaction.order_ref: string is not valid UTF-8 (a body in another encoding needs response.charset)",
	}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") {
		t.Errorf("reasons:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(want, "\n"))
	}
}

// sjsonSetRaw sets the top-level field key of the JSON object obj to the
// raw text value, which may be anything, invalid UTF-8 included.
func sjsonSetRaw(obj, key, value string) (string, error) {
	res := gjson.Get(obj, key)
	if res.Exists() {
		return obj[:res.Index] + value + obj[res.Index+len(res.Raw):], nil
	}
	end := strings.LastIndexByte(obj, '}')
	if end < 0 {
		return "", fmt.Errorf("%s is not an object", obj)
	}
	return obj[:end] + `,"` + key + `":` + value + obj[end:], nil
}

// TestStatsReasons checks that quarantined records are counted by reason,
// across batches, most first, and that a run's distinct reasons are
// bounded: a reason may hold a record's own value.
func TestStatsReasons(t *testing.T) {
	var st Stats
	for i := 0; i < 3; i++ {
		var b Stats
		b.quarantined("transaction.status: unknown", 2)
		b.quarantined("columns.a: not a decimal", 1)
		st.Add(b)
	}
	st.quarantined("transaction.transaction_at: required, got null", 4)
	top := st.TopReasons(2)
	want := []Reason{{"transaction.status: unknown", 6}, {"transaction.transaction_at: required, got null", 4}}
	if !slices.Equal(top, want) || st.Quarantined != 13 {
		t.Errorf("top reasons %v of %d, want %v of 13", top, st.Quarantined, want)
	}
	for i := 0; i < 2*maxReasons; i++ {
		st.quarantined(fmt.Sprintf("columns.a: %q is not a decimal number", fmt.Sprint(i)), 1)
	}
	if len(st.Reasons) != maxReasons+1 || st.Reasons[OtherReasons] != 2*maxReasons-(maxReasons-3) {
		t.Errorf("%d reasons, %d others; want %d and %d", len(st.Reasons), st.Reasons[OtherReasons], maxReasons+1, 2*maxReasons-(maxReasons-3))
	}
	var sum int64
	for _, n := range st.Reasons {
		sum += n
	}
	if sum != st.Quarantined {
		t.Errorf("reasons count %d records, quarantined %d", sum, st.Quarantined)
	}
}

// TestProgressAndCancel checks that Progress sees the counts grow to the
// final ones, and that a transform whose context is canceled returns the
// cancellation and leaves nothing in the lake once its sink is aborted.
func TestProgressAndCancel(t *testing.T) {
	sp := awinSpec(t)
	fixture := awinFixture(t)
	good := gjson.GetBytes(fixture, "0").Raw
	// Three bodies of 600 records each: several batches apiece.
	body := "[" + strings.TrimSuffix(strings.Repeat(good+",", 600), ",") + "]"
	inputs := func(n int, read func(i int) ([]byte, error)) []Input {
		in := make([]Input, n)
		for i := range in {
			in[i] = Input{Ref: fmt.Sprintf("body-%d.json", i), Read: func() ([]byte, error) { return read(i) }}
		}
		return in
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	acct := mapping.Account{ID: "189069", Currency: "GBP"}

	dir := t.TempDir()
	store, err := storage.Local(dir)
	if err != nil {
		t.Fatal(err)
	}
	sink := lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	var seen []Stats
	st, err := Run(context.Background(), Job{Spec: sp, Account: acct, Sink: sink, RunID: "t", FetchedAt: now,
		Progress: func(s Stats) { seen = append(seen, s) }},
		inputs(3, func(int) ([]byte, error) { return []byte(body), nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Records != 1800 || st.Rows != 1800 {
		t.Fatalf("stats %+v, want 1800 records and rows", st)
	}
	if len(seen) < 3*(600/batchSize) {
		t.Fatalf("Progress called %d times, want one call a batch", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Records < seen[i-1].Records {
			t.Fatalf("Progress went back from %d to %d records", seen[i-1].Records, seen[i].Records)
		}
	}
	if last := seen[len(seen)-1]; last.Records != st.Records || last.Rows != st.Rows || last.Bodies != st.Bodies {
		t.Errorf("last Progress %+v, want the final stats %+v", last, st)
	}

	// Canceled while the second body is read: the error is the
	// cancellation, and an aborted sink leaves no file behind.
	dir = t.TempDir()
	if store, err = storage.Local(dir); err != nil {
		t.Fatal(err)
	}
	sink = lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = Run(ctx, Job{Spec: sp, Account: acct, Sink: sink, RunID: "t", FetchedAt: now, Workers: 1},
		inputs(5, func(i int) ([]byte, error) {
			if i == 1 {
				cancel()
			}
			return []byte(body), nil
		}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run of a canceled context returned %v, want context.Canceled", err)
	}
	sink.Abort()
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("an aborted transform left %v", files)
	}
}

// rowsOf collects unified rows.
type rowsOf struct {
	mu   sync.Mutex
	rows []row.Unified
}

func (r *rowsOf) WriteUnified(rows []row.Unified) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, rows...)
	return nil
}

// mapBodies maps inputs with sp for account 189069 (GBP), streaming
// every body that can be when stream is set, in parts of about 3000
// bytes, and returns the counts, the unified rows in raw_ref order and
// the quarantined records' raw_ref and reason, sorted.
func mapBodies(t *testing.T, sp *spec.Spec, stream bool, inputs []Input) (Stats, []row.Unified, []string) {
	t.Helper()
	if stream {
		defer func(a int64, p int) { streamAbove, partSize = a, p }(streamAbove, partSize)
		streamAbove, partSize = 0, 3000
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	store, err := storage.Local(dir)
	if err != nil {
		t.Fatal(err)
	}
	sink := lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	rows := &rowsOf{}
	st, err := Run(context.Background(), Job{Spec: sp, Account: mapping.Account{ID: "189069", Currency: "GBP"},
		Sink: sink, Rows: rows, RunID: "t", FetchedAt: now, Workers: 2}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows.rows, func(a, b row.Unified) int { return strings.Compare(a.RawRef, b.RawRef) })
	var reasons []string
	qs, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*", "*", "*.jsonl"))
	for _, q := range qs {
		b, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			reasons = append(reasons, gjson.Get(line, "raw_ref").String()+" "+gjson.Get(line, "reason").String())
		}
	}
	slices.Sort(reasons)
	return st, rows.rows, reasons
}

// sameMapping fails unless two mappings of the same bodies agree.
func sameMapping(t *testing.T, a, b Stats, arows, brows []row.Unified, aq, bq []string) {
	t.Helper()
	if a.Records != b.Records || a.Rows != b.Rows || a.Quarantined != b.Quarantined || a.Rounded != b.Rounded || a.Bodies != b.Bodies {
		t.Errorf("streamed: %+v, read whole: %+v", a, b)
	}
	if len(arows) != len(brows) {
		t.Fatalf("streamed %d rows, read whole %d", len(arows), len(brows))
	}
	for i := range arows {
		x, _ := json.Marshal(arows[i])
		y, _ := json.Marshal(brows[i])
		if string(x) != string(y) {
			t.Fatalf("row %d streamed:\n%s\nread whole:\n%s", i, x, y)
		}
	}
	if strings.Join(aq, "\n") != strings.Join(bq, "\n") {
		t.Errorf("quarantine streamed:\n%s\nread whole:\n%s", strings.Join(aq, "\n"), strings.Join(bq, "\n"))
	}
}

// TestStreamedCSV: a large CSV report mapped as a stream, its rows
// converted in parts on the workers, gives what converting it whole
// gives.
func TestStreamedCSV(t *testing.T) {
	set, errs := spec.Load(filepath.Join("..", "extract", "testdata", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sp := set.Specs["pipes"]
	var b bytes.Buffer
	b.WriteString("\ufeffOrder ID|SKU|Process Date|Sales|Commission|Currency\r\n")
	for i := 0; i < 300; i++ {
		sales := fmt.Sprintf("%d,50", i)
		if i%97 == 5 {
			sales = "n/a" // quarantined
		}
		fmt.Fprintf(&b, "O-%d|\"SKU %d|x\"|10/%02d/2026 01:02:03 PM|%s|1,25|%s\r\n", i/3, i, 1+i%28, sales, []string{"EUR", ""}[i%2])
	}
	body := b.Bytes()
	var opens atomic.Int64
	in := func() []Input {
		return []Input{{Ref: "report.csv", Read: func() ([]byte, error) { return bytes.Clone(body), nil },
			Open: func() (io.ReadCloser, error) {
				opens.Add(1)
				return io.NopCloser(bytes.NewReader(body)), nil
			}, Size: int64(len(body))}}
	}
	wst, wrows, wq := mapBodies(t, sp, false, in())
	if wst.Records != 300 || wst.Quarantined == 0 || wst.Rows == 0 {
		t.Fatalf("read whole: %+v, want 300 records, some quarantined", wst)
	}
	sst, srows, sq := mapBodies(t, sp, true, in())
	if opens.Load() != 2 {
		t.Errorf("the report was opened %d times, want twice: checked, then mapped in parts", opens.Load())
	}
	sameMapping(t, sst, wst, srows, wrows, sq, wq)
}

// TestStreamedBodies checks that a large body mapped as a stream, in
// parts on several workers, gives the rows, quarantined records, counts
// and lineage mapping it whole gives; and that a large body that is not
// valid JSON writes nothing while the other bodies are written.
func TestStreamedBodies(t *testing.T) {
	sp := awinSpec(t)
	fixture := awinFixture(t)
	// The fixture's records, quarantined ones included, 40 times over,
	// each copy with ids of its own.
	var recs []string
	for k := 0; k < 40; k++ {
		gjson.ParseBytes(fixture).ForEach(func(_, rec gjson.Result) bool {
			r := rec.Raw
			if id := rec.Get("id"); id.Exists() {
				r, _ = sjsonSetRaw(r, "id", fmt.Sprintf("%d%03d", id.Int(), k))
			}
			recs = append(recs, r)
			return true
		})
	}
	body := []byte("[\n" + strings.Join(recs, ",\n") + "\n]")
	bad := []byte(strings.Replace(string(body), `"orderRef"`, `"orderRef" `+"\x00", 1))
	var reads, opens atomic.Int64
	inputs := func(bodies ...[]byte) []Input {
		in := make([]Input, len(bodies))
		for i, b := range bodies {
			in[i] = Input{
				Ref: fmt.Sprintf("body-%d.json", i),
				Read: func() ([]byte, error) {
					reads.Add(1)
					return bytes.Clone(b), nil
				},
				Open: func() (io.ReadCloser, error) {
					opens.Add(1)
					return io.NopCloser(bytes.NewReader(b)), nil
				},
				Size: int64(len(b)),
			}
		}
		return in
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	run := func(stream bool, bodies ...[]byte) (Stats, []row.Unified, []string) {
		t.Helper()
		return mapBodies(t, sp, stream, inputs(bodies...))
	}

	wst, wrows, wq := run(false, body)
	if reads.Load() != 1 || opens.Load() != 0 {
		t.Fatalf("a small body was read %d times and opened %d, want read once", reads.Load(), opens.Load())
	}
	sst, srows, sq := run(true, body)
	// Checked as a stream, then read again in parts; never whole.
	if reads.Load() != 1 || opens.Load() != 2 {
		t.Fatalf("a large body was read %d times and opened %d, want opened twice", reads.Load()-1, opens.Load())
	}
	if wst.Records != int64(len(recs)) || wst.Quarantined == 0 || wst.Rows == 0 {
		t.Fatalf("read whole: %+v, want %d records, some quarantined", wst, len(recs))
	}
	if sst.Bodies != 1 {
		t.Errorf("streamed %d bodies, want 1", sst.Bodies)
	}
	sameMapping(t, sst, wst, srows, wrows, sq, wq)

	// A body that is not JSON writes nothing; the others are written.
	st, rows, _ := run(true, bad, body)
	if st.Bodies != 2 || st.BodiesFailed != 1 || st.Rows != wst.Rows || len(rows) != len(wrows) || len(st.Errors) != 1 {
		t.Fatalf("a bad body and a good one: %+v, %d rows; want one failed and the good one's %d rows", st, len(rows), wst.Rows)
	}
	if msg := st.Errors[0].Error(); !strings.HasPrefix(msg, "body-0.json: not valid JSON at byte ") {
		t.Errorf("error %q, want the bad body's offset", msg)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.RawRef, "body-0.json") {
			t.Fatalf("a row of the bad body was written: %s", r.RawRef)
		}
	}

	// Stopped while a large body is checked: nothing more is read.
	defer func(a int64, p int) { streamAbove, partSize = a, p }(streamAbove, partSize)
	streamAbove, partSize = 0, 3000
	ctx, cancel := context.WithCancel(context.Background())
	in := inputs(body)
	open := in[0].Open
	var read atomic.Int64
	in[0].Open = func() (io.ReadCloser, error) {
		rc, err := open()
		return struct {
			io.Reader
			io.Closer
		}{readerFunc(func(p []byte) (int, error) {
			if read.Add(1) == 3 {
				cancel()
			}
			return rc.Read(p[:min(len(p), 100)])
		}), rc}, err
	}
	dir := t.TempDir()
	store, err := storage.Local(dir)
	if err != nil {
		t.Fatal(err)
	}
	sink := lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	defer sink.Abort()
	st, err = Run(ctx, Job{Spec: sp, Account: mapping.Account{ID: "189069"}, Sink: sink, RunID: "t", FetchedAt: now}, in)
	if !errors.Is(err, context.Canceled) || st.Rows != 0 || read.Load() > 4 {
		t.Errorf("stopped while checking a large body: %v, %+v, %d reads; want context.Canceled, no rows, no more reads", err, st, read.Load())
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestStopDrainsInput: once a stream of bodies is stopped, the bodies
// still sent to it are taken and left unread, so that a sender that does
// not watch the context (a fetch handing pages over) is never blocked.
func TestStopDrainsInput(t *testing.T) {
	sp := awinSpec(t)
	body := awinFixture(t)
	store, err := storage.Local(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	sink := lake.NewSink(store, sp.Name, "t", now, mapping.TableColumns(sp), lake.Options{})
	defer sink.Abort()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan Input)
	var reads atomic.Int64
	done := make(chan error)
	go func() {
		_, err := Stream(ctx, Job{Spec: sp, Account: mapping.Account{ID: "189069"}, Sink: sink, RunID: "t", FetchedAt: now}, in)
		done <- err
	}()
	for i := 0; i < 50; i++ {
		if i == 3 {
			cancel()
		}
		in <- Input{Ref: fmt.Sprintf("b%d.json", i), Read: func() ([]byte, error) { reads.Add(1); return body, nil }}
	}
	close(in)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("a stopped stream returned %v, want context.Canceled", err)
	}
	if n := reads.Load(); n > 5 {
		t.Errorf("%d bodies read after the stream was stopped at the fourth", n)
	}
}
