package lake

import (
	"cmp"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/lake/duckdb"
	"github.com/afflake/afflake/engine/storage"
)

// TestDuckDBReadsLakeFiles reads files the Sink put in a lake with DuckDB,
// an independent Parquet reader: column types, exact sums and values.
func TestDuckDBReadsLakeFiles(t *testing.T) {
	st, err := storage.Local(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewSink(st, "awin", "r1", ingest, testCols, Options{MaxRowsPerFile: 3})
	if err := s.WriteUnified(sampleRows(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTable(tableRows(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	root := st.Root()
	res := duckdb.Run(t, map[string]string{
		"u": filepath.Join(root, "transactions", "*", "*", "*.parquet"),
		"t": filepath.Join(root, "tables", "awin", "*", "*.parquet"),
	}, map[string]string{
		"sum": `SET TimeZone = 'UTC'; SELECT SUM(sale_amount)::VARCHAR AS sale, SUM(commission_amount)::VARCHAR AS commission, COUNT(*)::VARCHAR AS n FROM u`,
		"row": `SELECT transaction_id, advertiser_name, voucher_code, click_refs['clickRef2']::VARCHAR AS ref2,
			cardinality(click_refs)::VARCHAR AS nrefs, transaction_at::VARCHAR AS at, click_at::VARCHAR AS click_at,
			sale_amount::VARCHAR AS sale, commission_amount::VARCHAR AS commission, (parent_transaction_id IS NULL)::VARCHAR AS parent_null
			FROM u WHERE transaction_id = 't-2'`,
		"nulls": `SELECT (click_refs IS NULL)::VARCHAR AS refs_null, (click_at IS NULL)::VARCHAR AS click_null,
			(order_ref IS NULL)::VARCHAR AS order_null FROM u WHERE transaction_id = 't-1'`,
		"max": `SELECT MAX(sale_amount)::VARCHAR AS max, MIN(commission_amount)::VARCHAR AS min FROM u`,
		"table": `SELECT COALESCE(transaction_id, 'NULL') AS id, COALESCE(amount::VARCHAR, 'NULL') AS amount_s,
			COALESCE(date::VARCHAR, 'NULL') AS date_s, COALESCE(raw, 'NULL') AS raw_s, COALESCE(is_paid::VARCHAR, 'NULL') AS paid
			FROM t ORDER BY amount NULLS LAST`,
		"partitions": `SELECT DISTINCT network, ingest_date::VARCHAR AS ingest_date, filename[length(filename)-11:] AS file
			FROM read_parquet('` + filepath.Join(root, "transactions", "*", "*", "*.parquet") + `', filename = true) ORDER BY file`,
		"table_sum": `SELECT SUM(amount)::VARCHAR AS amount, SUM(quantity)::VARCHAR AS quantity FROM t`,
	})

	wantUnified := [][2]string{
		{"network", "VARCHAR"},
		{"account_id", "VARCHAR"},
		{"transaction_id", "VARCHAR"},
		{"parent_transaction_id", "VARCHAR"},
		{"order_ref", "VARCHAR"},
		{"advertiser_id", "VARCHAR"},
		{"advertiser_name", "VARCHAR"},
		{"click_ref", "VARCHAR"},
		{"click_refs", "MAP(VARCHAR, VARCHAR)"},
		{"click_at", "TIMESTAMP WITH TIME ZONE"},
		{"transaction_at", "TIMESTAMP WITH TIME ZONE"},
		{"updated_at", "TIMESTAMP WITH TIME ZONE"},
		{"validated_at", "TIMESTAMP WITH TIME ZONE"},
		{"paid_at", "TIMESTAMP WITH TIME ZONE"},
		{"status", "VARCHAR"},
		{"status_raw", "VARCHAR"},
		{"sale_amount", "DECIMAL(18,6)"},
		{"commission_amount", "DECIMAL(18,6)"},
		{"currency", "VARCHAR"},
		{"customer_type", "VARCHAR"},
		{"device", "VARCHAR"},
		{"country", "VARCHAR"},
		{"voucher_code", "VARCHAR"},
		{"decline_reason", "VARCHAR"},
		{"fetched_at", "TIMESTAMP WITH TIME ZONE"},
		{"run_id", "VARCHAR"},
		{"raw_ref", "VARCHAR"},
		{"spec_hash", "VARCHAR"},
		{"row_hash", "VARCHAR"},
		{"ingest_date", "DATE"}, // from the Hive-style partition
	}
	if got := res.Describe["u"]; !reflect.DeepEqual(got, wantUnified) {
		t.Errorf("DuckDB types of the unified table:\n got %q\nwant %q", got, wantUnified)
	}
	wantTable := [][2]string{
		{"transaction_id", "VARCHAR"},
		{"amount", "DECIMAL(18,6)"},
		{"quantity", "BIGINT"},
		{"is_paid", "BOOLEAN"},
		{"date", "TIMESTAMP WITH TIME ZONE"},
		{"raw", "VARCHAR"},
		{"zz_note", "VARCHAR"},
		{"a_first", "BIGINT"},
		{"ingest_date", "DATE"},
	}
	if got := res.Describe["t"]; !reflect.DeepEqual(got, wantTable) {
		t.Errorf("DuckDB types of the network table:\n got %q\nwant %q", got, wantTable)
	}

	for _, tc := range []struct {
		query string
		want  []map[string]string
	}{
		{"sum", []map[string]string{{"sale": "1000000000014.589999", "commission": "-1000000000005.499998", "n": "4"}}},
		{"row", []map[string]string{{
			"transaction_id": "t-2", "advertiser_name": "Café Zürich ☕ 東京", "voucher_code": "SOMMER-🌞",
			"ref2": "ß✓", "nrefs": "3", "at": "2026-10-31 00:02:03.999999+00", "click_at": "2026-10-30 07:00:00.000001+00",
			"sale": "19.990000", "commission": "-5.500000", "parent_null": "false",
		}}},
		{"nulls", []map[string]string{{"refs_null": "true", "click_null": "true", "order_null": "true"}}},
		{"max", []map[string]string{{"max": "999999999999.999999", "min": "-999999999999.999999"}}},
		{"table", []map[string]string{
			{"id": "t-6", "amount_s": "-999999999999.999999", "date_s": "NULL", "raw_s": "NULL", "paid": "NULL"},
			{"id": "t-5", "amount_s": "-5.500000", "date_s": "2026-03-29 01:30:00+00", "raw_s": `"s"`, "paid": "false"},
			{"id": "", "amount_s": "0.100000", "date_s": "1970-01-01 00:00:00+00", "raw_s": "null", "paid": "false"},
			{"id": "t-1", "amount_s": "19.990000", "date_s": "2026-11-01 00:00:00.123456+00", "raw_s": `{"id":1,"x":[1,2]}`, "paid": "true"},
			{"id": "t-4", "amount_s": "999999999999.999999", "date_s": "1970-01-01 00:00:00.000001+00", "raw_s": "[1]", "paid": "true"},
			{"id": "NULL", "amount_s": "NULL", "date_s": "NULL", "raw_s": "NULL", "paid": "NULL"},
		}},
		{"table_sum", []map[string]string{{"amount": "14.590000", "quantity": "9223372036854775852"}}},
		{"partitions", []map[string]string{
			{"network": "awin", "ingest_date": "2026-11-01", "file": "r1-0.parquet"},
			{"network": "awin", "ingest_date": "2026-11-01", "file": "r1-1.parquet"},
		}},
	} {
		if got := res.Queries[tc.query]; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DuckDB %s:\n got %v\nwant %v", tc.query, got, tc.want)
		}
	}
	if !strings.HasPrefix(res.Version, "v") {
		t.Errorf("DuckDB version %q", res.Version)
	}
}

// TestDuckDBReadsManyPages reads files of many pages and two row groups
// each, with every pattern of nulls and maps, with DuckDB: per-column
// counts, sums and bounds against the rows written.
func TestDuckDBReadsManyPages(t *testing.T) {
	dir := t.TempDir()
	rows := pageTestRows(tableRowGroupRows + 3001)
	table := writePagedTable(t, rows, 1000)
	unified := variedRows(t, rowGroupRows+5000)
	files := map[string][]byte{"t.parquet": table, "u.parquet": writeUnified(t, unified)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	counts := make([]string, len(pageTestCols))
	for i, c := range pageTestCols {
		counts[i] = fmt.Sprintf("count(%q)::VARCHAR AS c%d", c.Name, i)
	}
	res := duckdb.Run(t, map[string]string{
		"t": filepath.Join(dir, "t.parquet"),
		"u": filepath.Join(dir, "u.parquet"),
	}, map[string]string{
		"t": `SELECT count(*)::VARCHAR AS n, ` + strings.Join(counts, ", ") + `,
			sum(id)::VARCHAR AS ids, (sum(amount) * 1000000)::BIGINT::VARCHAR AS amounts, count_if(paid)::VARCHAR AS paid,
			count_if(flag)::VARCHAR AS flags, sum(sparse)::VARCHAR AS sparse, sum(epoch_us("at"))::VARCHAR AS at_us,
			sum(strlen(name))::VARCHAR AS name_bytes, sum(strlen(doc))::VARCHAR AS doc_bytes,
			sum(strlen(long))::VARCHAR AS long_bytes, sum(strlen(unicode))::VARCHAR AS unicode_bytes,
			min(name) AS min_name, max(name) AS max_name, min(id)::VARCHAR AS min_id, max(id)::VARCHAR AS max_id FROM t`,
		"u": `SELECT count(*)::VARCHAR AS n, count(click_refs)::VARCHAR AS maps, sum(cardinality(click_refs))::VARCHAR AS entries,
			sum(list_sum(list_transform(map_keys(click_refs), k -> strlen(k))) + list_sum(list_transform(map_values(click_refs), v -> strlen(v))))::VARCHAR AS map_bytes,
			count(order_ref)::VARCHAR AS orders, sum(strlen(order_ref))::VARCHAR AS order_bytes,
			(sum(sale_amount) * 1000000)::HUGEINT::VARCHAR AS sales, count(click_at)::VARCHAR AS clicks,
			sum(epoch_us(click_at))::VARCHAR AS click_us, min(transaction_id) AS min_id, max(transaction_id) AS max_id FROM u`,
	})

	ints := sums{}
	add := ints.add
	var names []string
	for _, r := range rows {
		for i, v := range r {
			if v != nil {
				add(fmt.Sprintf("c%d", i), 1)
			} else {
				add(fmt.Sprintf("c%d", i), 0)
			}
		}
		add("ids", r[0].(int64))
		if d, ok := r[2].(decimal.Decimal); ok {
			add("amounts", d.Unscaled)
		}
		add("paid", map[bool]int64{true: 1}[r[3] == true])
		add("flags", map[bool]int64{true: 1}[r[8] == true])
		if v, ok := r[9].(int64); ok {
			add("sparse", v)
		}
		add("at_us", r[4].(time.Time).UnixMicro())
		for k, c := range map[string]int{"name_bytes": 1, "doc_bytes": 5, "long_bytes": 7, "unicode_bytes": 10} {
			if s, ok := r[c].(string); ok {
				add(k, int64(len(s)))
			}
		}
		if s, ok := r[1].(string); ok {
			names = append(names, s)
		}
	}
	want := ints.strings()
	want["n"] = fmt.Sprint(len(rows))
	want["c6"] = "0" // a column of nulls only
	want["min_name"], want["max_name"] = slices.Min(names), slices.Max(names)
	idOf := func(r []any) int64 { return r[0].(int64) }
	want["min_id"] = fmt.Sprint(idOf(slices.MinFunc(rows, func(a, b []any) int { return cmp.Compare(idOf(a), idOf(b)) })))
	want["max_id"] = fmt.Sprint(idOf(slices.MaxFunc(rows, func(a, b []any) int { return cmp.Compare(idOf(a), idOf(b)) })))
	if got := res.Queries["t"]; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("DuckDB on the network table:\n got %v\nwant %v", got, want)
	}

	uints := sums{}
	uadd := uints.add
	var ids []string
	for _, u := range unified {
		ids = append(ids, u.TransactionID)
		uadd("sales", u.SaleAmount)
		uadd("maps", 0)
		uadd("orders", 0)
		uadd("clicks", 0)
		if u.ClickRefs != nil {
			uadd("maps", 1)
			uadd("entries", int64(len(u.ClickRefs)))
			for k, v := range u.ClickRefs {
				uadd("map_bytes", int64(len(k)+len(v)))
			}
		}
		if u.OrderRef != nil {
			uadd("orders", 1)
			uadd("order_bytes", int64(len(*u.OrderRef)))
		}
		if u.ClickAt != nil {
			uadd("clicks", 1)
			uadd("click_us", u.ClickAt.UnixMicro())
		}
	}
	uwant := uints.strings()
	uwant["n"] = fmt.Sprint(len(unified))
	uwant["min_id"], uwant["max_id"] = slices.Min(ids), slices.Max(ids)
	if got := res.Queries["u"]; len(got) != 1 || !reflect.DeepEqual(got[0], uwant) {
		t.Errorf("DuckDB on the unified table:\n got %v\nwant %v", got, uwant)
	}
}

// sums are exact sums by name, as DuckDB's HUGEINT sums print.
type sums map[string]*big.Int

func (s sums) add(k string, v int64) {
	if s[k] == nil {
		s[k] = new(big.Int)
	}
	s[k].Add(s[k], big.NewInt(v))
}

func (s sums) strings() map[string]string {
	out := make(map[string]string, len(s))
	for k, v := range s {
		out[k] = v.String()
	}
	return out
}
