package lake

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// chunkStats describes every column chunk of a file: its row group's rows,
// its values, null count and bounds.
func chunkStats(t testing.TB, data []byte) []string {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for g, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			md := c.MetaData
			out = append(out, fmt.Sprintf("group %d (%d rows) %s: %d values, %d nulls, min %q max %q",
				g, rg.NumRows, strings.Join(md.PathInSchema, "."), md.NumValues,
				md.Statistics.NullCount, md.Statistics.MinValue, md.Statistics.MaxValue))
		}
	}
	return out
}

// checkPageIndex walks every page header of a file of cols columns and
// checks them against the chunks' metadata and page index: v2 data
// pages, of DELTA_LENGTH_BYTE_ARRAY strings and PLAIN numbers, whose
// headers hold null counts only; an offset index locating
// each page and its first row; a column index (where the chunk has
// bounds) whose null counts add up to the chunk's, whose bounds lie
// within the chunk's, and whose boundary order is their order. It counts
// the column indexes of each boundary order.
func checkPageIndex(t *testing.T, data []byte, cols int) (orders map[format.BoundaryOrder]int) {
	t.Helper()
	orders = map[format.BoundaryOrder]int{}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	offsets, indexes := f.OffsetIndexes(), f.ColumnIndexes()
	if len(offsets) != cols*len(f.Metadata().RowGroups) {
		t.Fatalf("%d offset indexes for %d row groups of %d columns", len(offsets), len(f.Metadata().RowGroups), cols)
	}
	pages := 0
	for g, rg := range f.Metadata().RowGroups {
		for i, c := range rg.Columns {
			md := c.MetaData
			path := strings.Join(md.PathInSchema, ".")
			locs := offsets[g*cols+i].PageLocations
			r := bytes.NewReader(data[md.DataPageOffset : md.DataPageOffset+md.TotalCompressedSize])
			var values, nulls, rows int64
			for k := 0; r.Len() > 0; k++ {
				at := md.DataPageOffset + md.TotalCompressedSize - int64(r.Len())
				var h format.PageHeader
				if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(r)).Decode(&h); err != nil {
					t.Fatal(err)
				}
				if h.Type != format.DataPageV2 || !h.DataPageHeaderV2.Valid {
					t.Fatalf("%s page %d: %s page, want DATA_PAGE_V2", path, k, h.Type)
				}
				v2 := h.DataPageHeaderV2.V
				// Strings as parquet-go writes them, other values PLAIN.
				wantEnc := format.Plain
				if md.Type == format.ByteArray {
					wantEnc = format.DeltaLengthByteArray
				}
				if v2.Encoding != wantEnc || !slices.Contains(md.Encoding, wantEnc) {
					t.Fatalf("%s page %d: %s values (chunk %v), want %s", path, k, v2.Encoding, md.Encoding, wantEnc)
				}
				if s := v2.Statistics; s.MinValue != nil || s.MaxValue != nil || s.Min != nil || s.Max != nil || s.NullCount != int64(v2.NumNulls) {
					t.Errorf("%s page %d: header statistics %+v, want the null count %d only", path, k, s, v2.NumNulls)
				}
				hdrLen := md.DataPageOffset + md.TotalCompressedSize - int64(r.Len()) - at
				if k >= len(locs) || locs[k].Offset != at || locs[k].FirstRowIndex != rows ||
					int64(locs[k].CompressedPageSize) != hdrLen+int64(h.CompressedPageSize) {
					t.Fatalf("%s page %d at %d (first row %d): offset index %+v", path, k, at, rows, locs)
				}
				if _, err := r.Seek(int64(h.CompressedPageSize), io.SeekCurrent); err != nil {
					t.Fatal(err)
				}
				values += int64(v2.NumValues)
				nulls += int64(v2.NumNulls)
				rows += int64(v2.NumRows)
				pages++
			}
			if values != md.NumValues || nulls != md.Statistics.NullCount || rows != rg.NumRows || len(locs) == 0 {
				t.Errorf("%s: pages hold %d values, %d nulls, %d rows; chunk %d values, %d nulls, %d rows",
					path, values, nulls, rows, md.NumValues, md.Statistics.NullCount, rg.NumRows)
			}
			if md.Statistics.MinValue == nil {
				continue
			}
			ci := indexes[g*cols+i]
			if len(ci.NullPages) != len(locs) {
				t.Fatalf("%s: column index of %d pages, offset index %d", path, len(ci.NullPages), len(locs))
			}
			var indexNulls int64
			for k := range ci.NullPages {
				indexNulls += ci.NullCounts[k]
				if ci.NullPages[k] {
					continue
				}
				if compareBound(md.Type, ci.MinValues[k], md.Statistics.MinValue) < 0 ||
					compareBound(md.Type, ci.MaxValues[k], md.Statistics.MaxValue) > 0 ||
					compareBound(md.Type, ci.MinValues[k], ci.MaxValues[k]) > 0 {
					t.Errorf("%s page %d: bounds %q..%q outside the chunk's %q..%q", path, k,
						ci.MinValues[k], ci.MaxValues[k], md.Statistics.MinValue, md.Statistics.MaxValue)
				}
			}
			if indexNulls != md.Statistics.NullCount {
				t.Errorf("%s: column index counts %d nulls, chunk %d", path, indexNulls, md.Statistics.NullCount)
			}
			if want := boundaryOrder(md.Type, ci); ci.BoundaryOrder != want {
				t.Errorf("%s: boundary order %s, want %s (pages %q..%q)", path, ci.BoundaryOrder, want, ci.MinValues, ci.MaxValues)
			}
			orders[ci.BoundaryOrder]++
		}
	}
	if pages <= cols*len(f.Metadata().RowGroups) {
		t.Errorf("%d pages: the file should have columns of several pages", pages)
	}
	return orders
}

// boundaryOrder is the order of the bounds of a column index's pages
// with values: ascending when no page's bounds fall below the previous
// page's, descending when none rise, else unordered.
func boundaryOrder(typ format.Type, ci format.ColumnIndex) format.BoundaryOrder {
	asc, desc := true, true
	prev := -1
	for k := range ci.NullPages {
		if ci.NullPages[k] {
			continue
		}
		if prev >= 0 {
			lo := compareBound(typ, ci.MinValues[k], ci.MinValues[prev])
			hi := compareBound(typ, ci.MaxValues[k], ci.MaxValues[prev])
			asc = asc && lo >= 0 && hi >= 0
			desc = desc && lo <= 0 && hi <= 0
		}
		prev = k
	}
	switch {
	case asc:
		return format.Ascending
	case desc:
		return format.Descending
	}
	return format.Unordered
}

// compareBound compares two encoded bounds of a column of physical type
// typ.
func compareBound(typ format.Type, a, b []byte) int {
	if typ == format.Int64 {
		x, y := int64(binary.LittleEndian.Uint64(a)), int64(binary.LittleEndian.Uint64(b))
		return cmp.Compare(x, y)
	}
	return bytes.Compare(a, b)
}

// TestAppendLevels decodes appendLevels' encoding with parquet-go's
// RLE/bit-packed decoder: runs long and short, at group boundaries and
// not, of widths 1 and 2.
func TestAppendLevels(t *testing.T) {
	rep := func(v byte, n int) []byte { return bytes.Repeat([]byte{v}, n) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	alt := func(n int, vals ...byte) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = vals[i%len(vals)]
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int, max byte, runny bool) []byte {
		out := make([]byte, n)
		for i := range out {
			if runny && i > 0 && rng.IntN(10) > 0 {
				out[i] = out[i-1]
				continue
			}
			out[i] = byte(rng.IntN(int(max) + 1))
		}
		return out
	}
	cases := []struct {
		name   string
		levels []byte
		max    uint8
	}{
		{"one", []byte{1}, 1},
		{"one null", []byte{0}, 1},
		{"short run to the end", rep(1, 3), 1},
		{"eight", rep(1, 8), 1},
		{"long run", rep(1, 10000), 1},
		{"all null", rep(0, 777), 1},
		{"alternating", alt(13, 0, 1), 1},
		{"alternating, a multiple of eight", alt(64, 1, 0), 1},
		{"short runs then a long one", cat(alt(11, 0, 1), rep(1, 20)), 1},
		{"long run then short runs", cat(rep(0, 20), alt(9, 1, 0)), 1},
		{"long run mid group", cat(alt(5, 0, 1), rep(1, 8), alt(3, 0, 1)), 1},
		{"seven then a run", cat(rep(0, 7), rep(1, 30)), 1},
		{"map levels", cat([]byte{2, 2, 2, 0, 1, 2}, rep(2, 9), alt(17, 0, 1, 2)), 2},
		{"repetition levels", cat([]byte{0, 1, 1, 0, 0, 1}, alt(30, 0, 1, 1)), 1},
		{"random", random(5000, 1, false), 1},
		{"random runs", random(5000, 1, true), 1},
		{"random width 2", random(5000, 2, false), 2},
		{"random runs width 2", random(5000, 2, true), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkLevels(t, tc.levels, tc.max) })
	}
}

func checkLevels(t *testing.T, levels []byte, max uint8) {
	t.Helper()
	enc := appendLevels([]byte("prefix"), levels, max)
	if !bytes.HasPrefix(enc, []byte("prefix")) {
		t.Fatalf("appendLevels overwrote the bytes before it")
	}
	dec := rle.Encoding{BitWidth: bits.Len8(max)}
	got, err := dec.DecodeLevels(nil, enc[len("prefix"):])
	if err != nil {
		t.Fatalf("decoding %d levels: %v", len(levels), err)
	}
	// A last bit-packed group is padded to eight levels.
	if len(got) < len(levels) || len(got) >= len(levels)+8 || !bytes.Equal(got[:len(levels)], levels) {
		t.Fatalf("levels %v\nencoded %x\ndecoded %v", levels, enc, got)
	}
	// Runs of eight or more are RLE: the encoding of a page of one long
	// run is a few bytes.
	if allSame := bytes.Count(levels, levels[:1]) == len(levels); allSame && len(enc)-len("prefix") > 4 {
		t.Errorf("%d equal levels took %d bytes", len(levels), len(enc)-len("prefix"))
	}
}

// FuzzAppendLevels checks appendLevels against parquet-go's decoder for
// any levels of width 1 or 2.
func FuzzAppendLevels(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false)
	f.Add([]byte{2, 2, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}, true)
	f.Fuzz(func(t *testing.T, raw []byte, wide bool) {
		if len(raw) == 0 {
			return
		}
		max := uint8(1)
		if wide {
			max = 2
		}
		levels := make([]byte, len(raw))
		for i, b := range raw {
			levels[i] = b % (max + 1)
		}
		checkLevels(t, levels, max)
	})
}

// pageTestCols are the columns of TestTablePages: every type, and null
// patterns of every kind.
var pageTestCols = []Column{
	{"id", TypeInt},
	{"name", TypeString},    // null every third row
	{"amount", TypeDecimal}, // null every fifth
	{"paid", TypeBool},      // null every seventh
	{"at", TypeTimestamp},   // never null
	{"doc", TypeJSON},       // null every other row; no bounds
	{"nothing", TypeString}, // always null
	{"long", TypeString},    // one value too long to be a bound, in the first row group
	{"flag", TypeBool},      // never null
	{"sparse", TypeInt},     // null but every 100th row
	{"unicode", TypeString}, // non-ASCII
	{"countdown", TypeInt},  // descending
}

func pageTestRows(n int) [][]any {
	rows := make([][]any, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		r := make([]any, len(pageTestCols))
		r[0] = int64(i*7919%100003 - 50000)
		if i%3 != 0 {
			r[1] = fmt.Sprintf("name-%05d", (i*31)%20011)
		}
		if i%5 != 0 {
			r[2] = decimal.Decimal{Unscaled: int64(i%1000-500) * 10_000}
		}
		if i%7 != 0 {
			r[3] = i%2 == 0
		}
		r[4] = base.Add(time.Duration(i) * time.Minute)
		if i%2 == 0 {
			r[5] = fmt.Sprintf(`{"i":%d}`, i)
		}
		r[7] = fmt.Sprintf("l%d", i%50)
		if i == 10 {
			r[7] = strings.Repeat("x", maxBoundLen+1)
		}
		r[8] = i%4 == 1
		if i%100 == 0 {
			r[9] = int64(i)
		}
		r[10] = []string{"Ünïcødé", "東京", "🌞", "plain"}[i%4]
		r[11] = int64(n - i)
		rows[i] = r
	}
	return rows
}

// TestTablePages writes a table of two row groups, in small pages, and
// reads it back: every value, and every chunk's statistics against the
// values of its rows.
func TestTablePages(t *testing.T) {
	rows := pageTestRows(tableRowGroupRows + 3001)
	data := writePagedTable(t, rows, 1000)
	f, got := readTable(t, data)
	want := wantTable(rows)
	if len(got) != len(want) {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
	// at is ascending, countdown descending, id unordered.
	orders := checkPageIndex(t, data, len(pageTestCols))
	for _, o := range []format.BoundaryOrder{format.Ascending, format.Descending, format.Unordered} {
		if orders[o] == 0 {
			t.Errorf("no column index is %s: %v", o, orders)
		}
	}

	groups := f.Metadata().RowGroups
	if len(groups) != 2 || groups[0].NumRows != tableRowGroupRows {
		t.Fatalf("%d row groups, the first of %d rows; want 2, the first of %d", len(groups), groups[0].NumRows, tableRowGroupRows)
	}
	from := 0
	for g, rg := range groups {
		part := want[from : from+int(rg.NumRows)]
		from += int(rg.NumRows)
		for c, col := range pageTestCols {
			s := rg.Columns[c].MetaData.Statistics
			nulls, min, max := expectedStats(part, c)
			if s.NullCount != nulls {
				t.Errorf("group %d %s: null count %d, want %d", g, col.Name, s.NullCount, nulls)
			}
			noBounds := col.Type == TypeJSON || nulls == int64(len(part)) || (col.Name == "long" && g == 0)
			if noBounds {
				if s.MinValue != nil || s.MaxValue != nil {
					t.Errorf("group %d %s: bounds %q..%q, want none", g, col.Name, s.MinValue, s.MaxValue)
				}
				continue
			}
			if !bytes.Equal(s.MinValue, min) || !bytes.Equal(s.MaxValue, max) {
				t.Errorf("group %d %s: bounds %q..%q, want %q..%q", g, col.Name, s.MinValue, s.MaxValue, min, max)
			}
		}
	}
}

// writePagedTable writes rows of pageTestCols, in batches of 999 rows,
// with pages of pageBuffer bytes of values.
func writePagedTable(t testing.TB, rows [][]any, pageBuffer int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewTableWriter(&buf, pageTestCols)
	if err != nil {
		t.Fatal(err)
	}
	w.f.pageBuffer = pageBuffer
	for len(rows) > 0 {
		n := min(len(rows), 999)
		if err := w.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// expectedStats computes a column's null count and encoded bounds from
// the values read back (wantTable's types).
func expectedStats(rows [][]any, c int) (nulls int64, min, max []byte) {
	var enc [][]byte
	var ints []int64
	for _, r := range rows {
		switch v := r[c].(type) {
		case nil:
			nulls++
		case string:
			enc = append(enc, []byte(v))
		case int64:
			ints = append(ints, v)
		case decimal.Decimal:
			ints = append(ints, v.Unscaled)
		case time.Time:
			ints = append(ints, v.UnixMicro())
		case bool:
			b := int64(0)
			if v {
				b = 1
			}
			ints = append(ints, b)
		}
	}
	if len(ints) > 0 {
		lo, hi := slices.Min(ints), slices.Max(ints)
		if pageTestCols[c].Type == TypeBool {
			return nulls, []byte{byte(lo)}, []byte{byte(hi)}
		}
		return nulls, binary.LittleEndian.AppendUint64(nil, uint64(lo)), binary.LittleEndian.AppendUint64(nil, uint64(hi))
	}
	if len(enc) > 0 {
		return nulls, slices.MinFunc(enc, bytes.Compare), slices.MaxFunc(enc, bytes.Compare)
	}
	return nulls, nil, nil
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestPageFileWriteError checks that a failed write of a file's bytes is
// returned, by the write of the row group it cut short or by Close, and
// is final.
func TestPageFileWriteError(t *testing.T) {
	rows := pageTestRows(tableRowGroupRows + 10)
	for _, at := range []int{0, 3, 5000, 100_000} {
		tw, err := NewTableWriter(&failingWriter{n: at}, pageTestCols)
		if err != nil {
			t.Fatal(err)
		}
		werr := tw.Write(rows)
		cerr := tw.Close()
		if !errors.Is(cerr, errDiskFull) || (werr != nil && !errors.Is(werr, errDiskFull)) {
			t.Errorf("table failing after %d bytes: Write %v, Close %v; want %v", at, werr, cerr, errDiskFull)
		}
		if err := tw.Write(rows[:1]); !errors.Is(err, errDiskFull) {
			t.Errorf("table failing after %d bytes: Write after the failure returned %v", at, err)
		}

		uw := NewUnifiedWriter(&failingWriter{n: at})
		werr = uw.Write(variedRows(t, rowGroupRows+10))
		cerr = uw.Close()
		if !errors.Is(cerr, errDiskFull) || (werr != nil && !errors.Is(werr, errDiskFull)) {
			t.Errorf("unified failing after %d bytes: Write %v, Close %v; want %v", at, werr, cerr, errDiskFull)
		}
	}
}
