package lake

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/row"
)

// benchRows are realistic unified rows: distinct ids and hashes, a few
// repeated accounts, advertisers and statuses, half the optional columns
// set.
func benchRows(b *testing.B, n int) []row.Unified {
	b.Helper()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"pending", "approved", "declined", "paid"}
	rows := make([]row.Unified, n)
	for i := range rows {
		id := strconv.Itoa(900000000 + i)
		at := base.Add(time.Duration(i) * time.Second)
		r := row.Unified{
			Network: "awin", AccountID: strconv.Itoa(1000 + i%5), TransactionID: id,
			AdvertiserID: ptr(strconv.Itoa(i % 300)), AdvertiserName: ptr("Advertiser " + strconv.Itoa(i%300)),
			TransactionAt: at, UpdatedAt: ptr(at.Add(time.Hour)),
			Status: statuses[i%4], StatusRaw: statuses[i%4],
			SaleAmount: int64(i%100000) * 10_000, CommissionAmount: int64(i%100000) * 700,
			Currency: "EUR", Country: ptr("DE"), Device: ptr("mobile"),
			FetchedAt: base, RunID: "20261101T000000Z-abcd", RawRef: "raw/network=awin/account=1000/" + strconv.Itoa(i/500) + ".json.gz#" + strconv.Itoa(i%500),
			SpecHash: "3f2a9c", RowHash: strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 16),
		}
		if i%2 == 0 {
			r.ClickRef = ptr("sub" + strconv.Itoa(i%1000))
			r.ClickRefs = map[string]string{"clickRef": *r.ClickRef, "clickRef2": "x"}
			r.OrderRef = ptr("order-" + id)
		}
		rows[i] = r
	}
	return rows
}

// benchCols are the columns of the network-table benchmarks.
var benchCols = []Column{
	{"id", TypeString}, {"account", TypeString}, {"advertiser", TypeInt}, {"status", TypeString},
	{"sale", TypeDecimal}, {"commission", TypeDecimal}, {"date", TypeTimestamp}, {"paid", TypeBool},
	{"currency", TypeString}, {"click_ref", TypeString}, {"raw", TypeJSON}, {"note", TypeString},
}

// reportRows reports rows/s since start and the file's bytes per row.
func reportRows(b *testing.B, start time.Time, fileBytes int64) {
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(fileBytes)/float64(b.N), "file-B/row")
}

// countWriter counts the bytes of the file.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkUnifiedWriter writes b.N unified rows into one file; an op is
// one row. It reports rows/s and the file's bytes per row; B/op and
// allocs/op are the writer's allocations per row.
func BenchmarkUnifiedWriter(b *testing.B) {
	const distinct = 100_000
	rows := benchRows(b, min(b.N, distinct))
	var out countWriter
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	w := NewUnifiedWriter(&out)
	for done := 0; done < b.N; {
		n := min(b.N-done, len(rows), 10_000)
		if err := w.Write(rows[:n]); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	reportRows(b, start, out.n)
}

// benchTableRows are the rows of the table benchmarks: n rows of benchCols.
func benchTableRows(b *testing.B, n int) [][]any {
	src := benchRows(b, n)
	rows := make([][]any, len(src))
	for i, u := range src {
		rows[i] = []any{u.TransactionID, u.AccountID, int64(i % 300), u.Status, u.Sale(), u.Commission(),
			u.TransactionAt, i%3 == 0, u.Currency, nil,
			`{"id":` + u.TransactionID + `,"status":"` + u.Status + `","amount":{"amount":12.5,"currency":"EUR"}}`, nil}
	}
	return rows
}

// benchTable times writing b.N rows of benchCols: write writes some from
// the done-th on and says how many.
func benchTable(b *testing.B, write func(w *TableWriter, done int) (int, error)) {
	var out countWriter
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	w, err := NewTableWriter(&out, benchCols)
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < b.N; {
		n, err := write(w, done)
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	reportRows(b, start, out.n)
}

// BenchmarkTableWriter is the same for a network table of 12 columns.
func BenchmarkTableWriter(b *testing.B) {
	rows := benchTableRows(b, min(b.N, 100_000))
	benchTable(b, func(w *TableWriter, done int) (int, error) {
		n := min(b.N-done, len(rows), 10_000)
		return n, w.Write(rows[:n])
	})
}

// BenchmarkTableBatchWriter is BenchmarkTableWriter with the rows given
// as typed batches, as a transform writes them.
func BenchmarkTableBatchWriter(b *testing.B) {
	rows := benchTableRows(b, min(b.N, 100_000))
	batches := make([]*TableBatch, 0, len(rows)/batchRows+1)
	for i, row := range rows {
		if i%batchRows == 0 {
			batches = append(batches, NewTableBatch(benchCols, batchRows))
		}
		tb := batches[len(batches)-1]
		for c, v := range row {
			// Strings read from a valid document, as a transform
			// marks them.
			if s, ok := v.(string); ok {
				tb.SetString(c, s, true)
			} else {
				tb.Set(c, v)
			}
		}
		tb.Commit()
	}
	k := 0
	benchTable(b, func(w *TableWriter, done int) (int, error) {
		tb := batches[k%len(batches)]
		k++
		if n := b.N - done; n < tb.Len() {
			return n, w.writeBatch(tb, 0, n)
		}
		return tb.Len(), w.WriteBatch(tb)
	})
}

var _ io.Writer = (*countWriter)(nil)
