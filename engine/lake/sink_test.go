package lake

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/storage"
)

// ingest is 00:30 in Paris on 2 November, still 1 November in UTC.
var ingest = time.Date(2026, 11, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600))

const (
	txDir  = "transactions/network=awin/ingest_date=2026-11-01/"
	tblDir = "tables/awin/ingest_date=2026-11-01/"
	qKey   = "quarantine/network=awin/ingest_date=2026-11-01/r1.jsonl"
)

func newLake(t *testing.T) *storage.LocalStore {
	t.Helper()
	st, err := storage.Local(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func listAll(t *testing.T, st storage.Store) []string {
	t.Helper()
	keys, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func stagedCount(t *testing.T, st storage.Store) int {
	t.Helper()
	ents, err := os.ReadDir(st.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// unifiedN returns n rows with transaction ids tx-<i>.
func unifiedN(t testing.TB, n int) []row.Unified {
	base := sampleRows(t)
	out := make([]row.Unified, n)
	for i := range out {
		out[i] = base[i%len(base)]
		out[i].TransactionID = "tx-" + string(rune('a'+i%26)) + "-" + strconv.Itoa(i)
	}
	return out
}

func tableN(n int) [][]any {
	out := make([][]any, n)
	for i := range out {
		out[i] = []any{"t-" + strconv.Itoa(i), int64(i)}
	}
	return out
}

var sinkCols = []Column{{"id", TypeString}, {"n", TypeInt}}

func readKey(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	b, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSinkRotationAndLayout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      int
		batches  []int // sizes of the WriteUnified and WriteTable calls
		wantRows []int // rows per file, k = 0, 1, …
	}{
		{"below the limit", 10, []int{3, 4}, []int{7}},
		{"exactly the limit", 5, []int{5}, []int{5}},
		{"rotation inside a batch", 3, []int{7}, []int{3, 3, 1}},
		{"rotation across batches", 3, []int{2, 2, 2, 1}, []int{3, 3, 1}},
		{"exact multiple", 2, []int{1, 3}, []int{2, 2}},
		{"one row per file", 1, []int{3}, []int{1, 1, 1}},
		{"default limit", 0, []int{4}, []int{4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newLake(t)
			s := NewSink(st, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: tc.max})
			total := 0
			for _, b := range tc.batches {
				total += b
			}
			all := unifiedN(t, total)
			tbl := tableN(total)
			off := 0
			for _, b := range tc.batches {
				if err := s.WriteUnified(all[off : off+b]); err != nil {
					t.Fatal(err)
				}
				if err := s.WriteTable(tbl[off : off+b]); err != nil {
					t.Fatal(err)
				}
				off += b
			}
			// Nothing is in the lake before Close.
			if keys := listAll(t, st); len(keys) != 0 {
				t.Fatalf("before Close the lake holds %q", keys)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for k := range tc.wantRows {
				want = append(want, txDir+"r1-"+strconv.Itoa(k)+".parquet")
			}
			for k := range tc.wantRows {
				want = append(want, tblDir+"r1-"+strconv.Itoa(k)+".parquet")
			}
			if got := s.Files(); !reflect.DeepEqual(got, want) {
				t.Errorf("Files() = %q, want %q", got, want)
			}
			if got := listAll(t, st); !reflect.DeepEqual(sorted(got), sorted(want)) {
				t.Errorf("lake holds %q, want %q", got, want)
			}
			if n := stagedCount(t, st); n != 0 {
				t.Errorf("%d staged files left", n)
			}
			// Rows are split in order.
			off = 0
			for k, n := range tc.wantRows {
				got := readUnified(t, readKey(t, st, txDir+"r1-"+strconv.Itoa(k)+".parquet"))
				if len(got) != n {
					t.Fatalf("file %d holds %d unified rows, want %d", k, len(got), n)
				}
				for i := range got {
					if got[i].TransactionID != all[off+i].TransactionID {
						t.Fatalf("file %d row %d is %s, want %s", k, i, got[i].TransactionID, all[off+i].TransactionID)
					}
				}
				_, trows := readTable(t, readKey(t, st, tblDir+"r1-"+strconv.Itoa(k)+".parquet"))
				if !reflect.DeepEqual(trows, wantTable(tbl[off:off+n])) {
					t.Fatalf("table file %d = %v, want %v", k, trows, tbl[off:off+n])
				}
				off += n
			}
			outs := s.Outputs()
			for i, o := range outs {
				if o.Rows != int64(tc.wantRows[i%len(tc.wantRows)]) || o.Bytes <= 0 {
					t.Errorf("output %s: rows %d bytes %d", o.Key, o.Rows, o.Bytes)
				}
			}
		})
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestSinkQuarantine(t *testing.T) {
	st := newLake(t)
	s := NewSink(st, "awin", "r1", ingest, nil, Options{})
	at := time.Date(2026, 11, 1, 12, 0, 0, 500, time.FixedZone("X", 2*3600))
	for _, q := range []Rejected{
		{AccountID: "1001", RawRef: "raw/a.json.gz#3", Reason: "sale_amount: not a decimal", FetchedAt: at,
			Record: json.RawMessage("{\n  \"id\": 3,\n  \"amount\": \"abc\",\n  \"html\": \"<b>&</b>\"\n}")},
		{AccountID: "1001", RawRef: "raw/a.csv.gz#7", Reason: "bad row", FetchedAt: at,
			Record: json.RawMessage("not,json,\"Zürich\"")},
		{AccountID: "1002", RawRef: "raw/b#0", Reason: "empty", FetchedAt: at},
		{AccountID: "1002", RawRef: "raw/b#1", Reason: "binary", FetchedAt: at, Record: json.RawMessage("\"\xff\"")},
	} {
		if err := s.Quarantine(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.Files(); !reflect.DeepEqual(got, []string{qKey}) {
		t.Fatalf("Files() = %q, want %q", got, qKey)
	}
	want := []string{
		`{"network":"awin","account_id":"1001","run_id":"r1","raw_ref":"raw/a.json.gz#3","fetched_at":"2026-11-01T10:00:00.0000005Z","reason":"sale_amount: not a decimal","record":{"id":3,"amount":"abc","html":"<b>&</b>"}}`,
		`{"network":"awin","account_id":"1001","run_id":"r1","raw_ref":"raw/a.csv.gz#7","fetched_at":"2026-11-01T10:00:00.0000005Z","reason":"bad row","record":"not,json,\"Zürich\""}`,
		`{"network":"awin","account_id":"1002","run_id":"r1","raw_ref":"raw/b#0","fetched_at":"2026-11-01T10:00:00.0000005Z","reason":"empty","record":null}`,
		`{"network":"awin","account_id":"1002","run_id":"r1","raw_ref":"raw/b#1","fetched_at":"2026-11-01T10:00:00.0000005Z","reason":"binary","record":"\"\ufffd\""}`,
	}
	got := strings.Split(strings.TrimSuffix(string(readKey(t, st, qKey)), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("quarantine has %d lines:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(got[i]), &m); err != nil {
			t.Errorf("line %d is not JSON: %v", i, err)
		}
	}
	if o := s.Outputs(); len(o) != 1 || o[0].Rows != 4 {
		t.Errorf("Outputs() = %+v, want 4 lines", o)
	}
}

func TestSinkAbort(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		write func(*Sink) error
	}{
		{"open files", 100, func(s *Sink) error {
			if err := s.WriteUnified(unifiedN(t, 5)); err != nil {
				return err
			}
			if err := s.WriteTable(tableN(5)); err != nil {
				return err
			}
			return s.Quarantine(Rejected{Reason: "x", Record: json.RawMessage(`{}`)})
		}},
		{"finished and open files", 2, func(s *Sink) error {
			if err := s.WriteUnified(unifiedN(t, 5)); err != nil {
				return err
			}
			return s.WriteTable(tableN(4))
		}},
		{"nothing written", 2, func(s *Sink) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newLake(t)
			s := NewSink(st, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: tc.max})
			if err := tc.write(s); err != nil {
				t.Fatal(err)
			}
			if tc.name != "nothing written" && stagedCount(t, st) == 0 {
				t.Fatal("nothing staged")
			}
			s.Abort()
			if keys := listAll(t, st); len(keys) != 0 {
				t.Errorf("after Abort the lake holds %q", keys)
			}
			if n := stagedCount(t, st); n != 0 {
				t.Errorf("after Abort %d staged files remain", n)
			}
			if len(s.Files()) != 0 {
				t.Errorf("Files() = %q after Abort", s.Files())
			}
			if err := s.WriteUnified(unifiedN(t, 1)); !errors.Is(err, ErrClosed) {
				t.Errorf("WriteUnified after Abort: %v, want ErrClosed", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close after Abort: %v", err)
			}
			if keys := listAll(t, st); len(keys) != 0 {
				t.Errorf("after Abort and Close the lake holds %q", keys)
			}
		})
	}
}

func TestSinkRerunReplacesAndDeletesStale(t *testing.T) {
	st := newLake(t)
	ctx := context.Background()
	// Files of other runs in the same partitions must survive.
	others := []string{
		txDir + "r10-0.parquet",
		txDir + "r1-x-0.parquet",
		txDir + "r1-5-0.parquet",
		tblDir + "r0-3.parquet",
		"quarantine/network=awin/ingest_date=2026-11-01/r10.jsonl",
		"transactions/network=awin/ingest_date=2026-11-02/r1-3.parquet",
	}
	for _, k := range others {
		if err := st.Put(ctx, k, []byte("other")); err != nil {
			t.Fatal(err)
		}
	}
	first := NewSink(st, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: 3})
	if err := first.WriteUnified(unifiedN(t, 8)); err != nil {
		t.Fatal(err)
	}
	if err := first.WriteTable(tableN(4)); err != nil {
		t.Fatal(err)
	}
	if err := first.Quarantine(Rejected{Reason: "first"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	wantFirst := []string{
		txDir + "r1-0.parquet", txDir + "r1-1.parquet", txDir + "r1-2.parquet",
		tblDir + "r1-0.parquet", tblDir + "r1-1.parquet",
		qKey,
	}
	if got := first.Files(); !reflect.DeepEqual(got, wantFirst) {
		t.Fatalf("first run Files() = %q, want %q", got, wantFirst)
	}

	for _, tc := range []struct {
		name      string
		unified   int
		table     int
		quarant   bool
		wantFiles []string
		wantRows  int // unified rows in r1-0
	}{
		{"fewer rows", 2, 1, false, []string{txDir + "r1-0.parquet", tblDir + "r1-0.parquet"}, 2},
		{"more rows", 4, 0, true, []string{txDir + "r1-0.parquet", txDir + "r1-1.parquet", qKey}, 3},
		{"nothing", 0, 0, false, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSink(st, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: 3})
			rows := unifiedN(t, tc.unified)
			for i := range rows {
				rows[i].RunID = "r1-" + tc.name
			}
			if err := s.WriteUnified(rows); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteTable(tableN(tc.table)); err != nil {
				t.Fatal(err)
			}
			if tc.quarant {
				if err := s.Quarantine(Rejected{Reason: tc.name}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := s.Files(); !reflect.DeepEqual(got, tc.wantFiles) {
				t.Errorf("Files() = %q, want %q", got, tc.wantFiles)
			}
			want := sorted(append(append([]string(nil), others...), tc.wantFiles...))
			if got := listAll(t, st); !reflect.DeepEqual(got, want) {
				t.Errorf("lake holds\n%q\nwant\n%q", got, want)
			}
			if tc.unified > 0 {
				got := readUnified(t, readKey(t, st, txDir+"r1-0.parquet"))
				if len(got) != tc.wantRows || got[0].RunID != "r1-"+tc.name {
					t.Errorf("r1-0 holds %d rows of run %q, want %d of the new attempt", len(got), got[0].RunID, tc.wantRows)
				}
			}
			if tc.quarant && !strings.Contains(string(readKey(t, st, qKey)), `"reason":"`+tc.name+`"`) {
				t.Errorf("quarantine file is not the new attempt's")
			}
			for _, k := range others {
				if string(readKey(t, st, k)) != "other" {
					t.Errorf("%s was changed", k)
				}
			}
		})
	}
}

func TestSinkRowErrorKeepsSinkUsable(t *testing.T) {
	st := newLake(t)
	s := NewSink(st, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: 2})
	good := unifiedN(t, 3)
	bad := unifiedN(t, 3)
	bad[2].Currency = "\xff"
	var re *RowError
	if err := s.WriteUnified(good[:1]); err != nil {
		t.Fatal(err)
	}
	// The bad batch would span a rotation: none of it may be written.
	if err := s.WriteUnified(bad); !errors.As(err, &re) || re.Row != 2 || re.Column != "currency" {
		t.Fatalf("WriteUnified(bad) = %v, want a RowError for row 2 currency", err)
	}
	if err := s.WriteTable([][]any{{"a", int64(1)}, {"b", "2"}}); !errors.As(err, &re) || re.Row != 1 || re.Column != "n" {
		t.Fatalf("WriteTable(bad) = %v, want a RowError for row 1 n", err)
	}
	if err := s.WriteUnified(good[1:]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTable(tableN(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, k := range s.Files() {
		if strings.HasPrefix(k, txDir) {
			n += len(readUnified(t, readKey(t, st, k)))
		}
	}
	if n != 3 {
		t.Errorf("lake holds %d unified rows, want 3", n)
	}
	if err := s.WriteTable(tableN(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteTable after Close: %v, want ErrClosed", err)
	}
}

func TestSinkInvalidArguments(t *testing.T) {
	st := newLake(t)
	for _, tc := range []struct {
		name    string
		network string
		runID   string
		ingest  time.Time
		cols    []Column
		want    string
		tblOnly bool
	}{
		{"empty network", "", "r1", ingest, sinkCols, "invalid network", false},
		{"slash in network", "a/b", "r1", ingest, sinkCols, "invalid network", false},
		{"dot-dot run id", "awin", "..", ingest, sinkCols, "invalid run id", false},
		{"slash in run id", "awin", "x/y", ingest, sinkCols, "invalid run id", false},
		{"zero ingest", "awin", "r1", time.Time{}, sinkCols, "no ingest time", false},
		{"bad table columns", "awin", "r1", ingest, []Column{{"a", "float"}}, "unknown column type", true},
		{"no table columns", "awin", "r1", ingest, nil, "no columns", true},
	} {
		s := NewSink(st, tc.network, tc.runID, tc.ingest, tc.cols, Options{})
		if err := s.WriteTable(tableN(1)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WriteTable err = %v, want %q", tc.name, err, tc.want)
		}
		err := s.WriteUnified(unifiedN(t, 1))
		if tc.tblOnly {
			if err != nil {
				t.Errorf("%s: WriteUnified: %v", tc.name, err)
			}
			s.Abort()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WriteUnified err = %v, want %q", tc.name, err, tc.want)
		}
		if err := s.Close(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Close err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if keys := listAll(t, st); len(keys) != 0 {
		t.Errorf("lake holds %q", keys)
	}
	if n := stagedCount(t, st); n != 0 {
		t.Errorf("%d staged files left", n)
	}
}

// failStore fails PutFile for one key.
type failStore struct {
	storage.Store
	failKey string
}

func (f failStore) PutFile(ctx context.Context, key, path string) error {
	if key == f.failKey {
		return errors.New("disk full")
	}
	return f.Store.PutFile(ctx, key, path)
}

func TestSinkCloseFailureDiscardsStagedFiles(t *testing.T) {
	st := newLake(t)
	s := NewSink(failStore{st, txDir + "r1-1.parquet"}, "awin", "r1", ingest, sinkCols, Options{MaxRowsPerFile: 2})
	if err := s.WriteUnified(unifiedN(t, 5)); err != nil {
		t.Fatal(err)
	}
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "r1-1.parquet") {
		t.Fatalf("Close err = %v, want the PutFile error naming the key", err)
	}
	if n := stagedCount(t, st); n != 0 {
		t.Errorf("%d staged files left after a failed Close", n)
	}
	// The file put before the failure is there; a re-run replaces it.
	if got := listAll(t, st); !reflect.DeepEqual(got, []string{txDir + "r1-0.parquet"}) {
		t.Errorf("lake holds %q", got)
	}
	if err := s.Close(); err == nil {
		t.Errorf("second Close succeeded after a failure")
	}
}

func TestFileIndex(t *testing.T) {
	for _, tc := range []struct {
		name, run string
		k         int
		ok        bool
	}{
		{"r1-0.parquet", "r1", 0, true},
		{"r1-12.parquet", "r1", 12, true},
		{"r1-012.parquet", "r1", 0, false},
		{"r1--1.parquet", "r1", 0, false},
		{"r1-.parquet", "r1", 0, false},
		{"r1-5-0.parquet", "r1", 0, false},
		{"r1-x-0.parquet", "r1", 0, false},
		{"r10-0.parquet", "r1", 0, false},
		{"r1-0.parquet.tmp", "r1", 0, false},
		{"r1-5-0.parquet", "r1-5", 0, true},
	} {
		k, ok := fileIndex(tc.name, tc.run)
		if k != tc.k || ok != tc.ok {
			t.Errorf("fileIndex(%q, %q) = %d, %v; want %d, %v", tc.name, tc.run, k, ok, tc.k, tc.ok)
		}
	}
}
