package lake

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/row"
	"github.com/parquet-go/parquet-go"
)

// writerOptions are the options of parquet-go's writer that match the
// lake's files: codec, page size and row groups.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.PageBufferSize(pageBufferSize),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
	}
}

// genericUnified writes batches with parquet.GenericWriter[row.Unified],
// which maps rows to columns by reflection, in batches of batchRows as
// UnifiedWriter does: the reference UnifiedWriter is held to.
func genericUnified(t testing.TB, opts []parquet.WriterOption, batches ...[]row.Unified) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row.Unified](&buf, opts...)
	for _, b := range batches {
		for len(b) > 0 {
			n := min(len(b), batchRows)
			if _, err := w.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// variedRows are n rows drawing every optional column from null and
// values, and maps from nil, empty and several keys in no sorted order.
func variedRows(t testing.TB, n int) []row.Unified {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	strs := []*string{nil, ptr(""), ptr("x"), ptr("Café Zürich ☕ 東京 🌞"), ptr(strings.Repeat("long ", 40))}
	times := []*time.Time{
		nil,
		ptr(time.Date(1901, 1, 1, 0, 0, 0, 999, time.UTC)),
		ptr(time.Unix(0, 1)),
		ptr(time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC)),
		ptr(time.Date(2026, 3, 29, 2, 30, 0, 123_456_789, paris)),
		ptr(time.Date(2026, 10, 25, 2, 30, 0, 999_999, time.FixedZone("X", -7*3600))),
	}
	maps := []map[string]string{
		nil,
		{},
		{"clickRef": "sub1"},
		{"zeta": "1", "Alpha": "2", "ß-key": "drei ✓"},
		{"b": "", "": "empty key", "a": "x"},
	}
	amounts := []int64{0, 1, -1, 19_990_000, -5_500_000, maxUnscaled, -maxUnscaled}
	statuses := []string{"pending", "approved", "declined", "paid"}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rnd.IntN(n) }
	ps := func() *string { return strs[pick(len(strs))] }
	pt := func() *time.Time { return times[pick(len(times))] }
	rows := make([]row.Unified, n)
	for i := range rows {
		id := strconv.Itoa(i)
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1_234_567_891)
		if i%5 == 0 {
			at = *times[1+i/5%(len(times)-1)]
		}
		rows[i] = row.Unified{
			Network: "awin", AccountID: strconv.Itoa(1000 + i%7), TransactionID: "t-" + id + "-ü",
			ParentTransactionID: ps(), OrderRef: ps(), AdvertiserID: ps(), AdvertiserName: ps(), ClickRef: ps(),
			ClickRefs: maps[pick(len(maps))],
			ClickAt:   pt(), TransactionAt: at, UpdatedAt: pt(), ValidatedAt: pt(), PaidAt: pt(),
			Status: statuses[i%4], StatusRaw: strings.ToUpper(statuses[i%4]) + " ✔",
			SaleAmount: amounts[pick(len(amounts))], CommissionAmount: amounts[pick(len(amounts))] / int64(1+i%3),
			Currency: "EUR", CustomerType: ps(), Device: ps(), Country: ps(), VoucherCode: ps(), DeclineReason: ps(),
			FetchedAt: at.Add(time.Hour), RunID: "r1", RawRef: "raw/" + id + ".json.gz#" + strconv.Itoa(i%500),
			SpecHash: "s1", RowHash: strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 16),
		}
	}
	return rows
}

// TestUnifiedMatchesGenericWriter writes rows with UnifiedWriter and with
// parquet.GenericWriter[row.Unified]: the files read back the same rows,
// have the same schema, and with the same options they are identical.
func TestUnifiedMatchesGenericWriter(t *testing.T) {
	refs := func(m map[string]string) row.Unified {
		r := sampleRows(t)[0]
		r.ClickRefs = m
		return r
	}
	zero := sampleRows(t)[1]
	zero.ClickAt, zero.TransactionAt, zero.FetchedAt = &time.Time{}, time.Time{}, time.Time{}
	many := variedRows(t, rowGroupRows+3000)
	for _, tc := range []struct {
		name    string
		batches [][]row.Unified
		// outOfRange is set when the rows hold times that parquet-go
		// reads back wrongly (beyond the int64 nanoseconds of 1678 to
		// 2262): only the two files are compared.
		outOfRange bool
	}{
		{"click refs", [][]row.Unified{{
			refs(nil), refs(map[string]string{}), refs(map[string]string{"k": "v"}),
			refs(map[string]string{"c": "3", "a": "1", "b": "2"}), refs(nil), refs(map[string]string{}),
		}}, false},
		{"sample rows", [][]row.Unified{sampleRows(t)}, false},
		{"no rows", nil, false},
		{"zero times", [][]row.Unified{{zero}}, true},
		{"uneven batches over two row groups", [][]row.Unified{
			many[:1], many[1:1500], many[1500:1563], many[1563:30000], many[30000:30001], many[30001:],
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []row.Unified
			for _, b := range tc.batches {
				want = append(want, b...)
			}
			got := writeUnified(t, tc.batches...)
			ref := genericUnified(t, writerOptions(), tc.batches...)
			gotRows, refRows := readUnified(t, got), readUnified(t, ref)
			if len(gotRows) != len(want) || len(refRows) != len(want) {
				t.Fatalf("read %d rows, the generic writer's file %d, want %d", len(gotRows), len(refRows), len(want))
			}
			want = normalized(want)
			for i := range want {
				if !reflect.DeepEqual(gotRows[i], refRows[i]) {
					t.Fatalf("row %d:\n got %+v\nwant %+v (generic writer)", i, gotRows[i], refRows[i])
				}
				if !tc.outOfRange && !reflect.DeepEqual(gotRows[i], want[i]) {
					t.Fatalf("row %d:\n got %+v\nwant %+v", i, gotRows[i], want[i])
				}
			}
			if g, r := fileSchema(t, got), fileSchema(t, ref); g != r || g != UnifiedSchema().String() {
				t.Errorf("file schema:\n%s\ngeneric writer's:\n%s", g, r)
			}
			// Row groups, and each chunk's value count, null count and
			// bounds, as parquet-go computes them.
			if g, r := chunkStats(t, got), chunkStats(t, ref); !reflect.DeepEqual(g, r) {
				t.Errorf("column chunks:\n%s\ngeneric writer's:\n%s", strings.Join(g, "\n"), strings.Join(r, "\n"))
			}
		})
	}
}

func fileSchema(t testing.TB, data []byte) string {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f.Schema().String()
}

// TestUnifiedColumnsFollowSchema checks unifiedColumns against the leaf
// columns of UnifiedSchema: path, order and levels.
func TestUnifiedColumnsFollowSchema(t *testing.T) {
	schema := UnifiedSchema()
	paths := schema.Columns()
	if len(paths) != len(unifiedColumns) {
		t.Fatalf("schema has %d columns, unifiedColumns %d", len(paths), len(unifiedColumns))
	}
	for i, path := range paths {
		col := &unifiedColumns[i]
		if p := strings.Join(path, "."); col.path != p {
			t.Errorf("column %d is %s, want %s", i, col.path, p)
			continue
		}
		leaf, _ := schema.Lookup(path...)
		var def, rep int
		switch col.kind {
		case unifiedOptString, unifiedOptTime:
			def = 1
		case unifiedMapKey, unifiedMapValue:
			def, rep = defMapEntry, 1
		}
		if leaf.MaxDefinitionLevel != def || leaf.MaxRepetitionLevel != rep {
			t.Errorf("column %s: levels %d/%d, written as %d/%d", col.path,
				leaf.MaxDefinitionLevel, leaf.MaxRepetitionLevel, def, rep)
		}
		kind := leaf.Node.Type().Kind()
		if isStr := col.kind == unifiedString || col.kind == unifiedOptString || def == defMapEntry; isStr != (kind == parquet.ByteArray) {
			t.Errorf("column %s: %s column written from a %s", col.path, kind, map[bool]string{true: "string", false: "int64"}[isStr])
		}
	}
}

// TestUnifiedPageIndex checks the page headers and the page index of a
// unified file of many pages: headers hold null counts only, and every
// chunk has a column index and an offset index that agree with its
// pages.
func TestUnifiedPageIndex(t *testing.T) {
	checkPageIndex(t, writeUnified(t, variedRows(t, rowGroupRows+5000)), len(unifiedColumns))
}
