package lake

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/row"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func ptr[T any](v T) *T { return &v }

func dec(t testing.TB, s string) int64 {
	t.Helper()
	d, rounded, err := decimal.Parse(s, '.')
	if err != nil || rounded {
		t.Fatalf("decimal.Parse(%q) = %v, %v, %v", s, d, rounded, err)
	}
	return d.Unscaled
}

// sampleRows are unified rows covering nulls, non-ASCII text, amounts at
// the edges of decimal(18,6), maps and timestamps in other time zones.
func sampleRows(t testing.TB) []row.Unified {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	at := time.Date(2026, 10, 31, 23, 59, 59, 123456789, time.UTC)
	rows := []row.Unified{
		{ // every optional column null
			Network: "awin", AccountID: "1001", TransactionID: "t-1",
			TransactionAt: at, Status: "pending", StatusRaw: "pending",
			SaleAmount: dec(t, "0.1"), CommissionAmount: dec(t, "0"),
			Currency: "EUR", FetchedAt: at.Add(time.Hour),
			RunID: "r1", RawRef: "raw/a.json.gz#0", SpecHash: "s1", RowHash: "h1",
		},
		{ // every optional column set, non-ASCII text, another zone
			Network: "awin", AccountID: "1001", TransactionID: "t-2",
			ParentTransactionID: ptr("t-1"), OrderRef: ptr("Bestellung-Ä-42"),
			AdvertiserID: ptr("9"), AdvertiserName: ptr("Café Zürich ☕ 東京"),
			ClickRef: ptr("sub1"), ClickRefs: map[string]string{"clickRef": "sub1", "clickRef2": "ß✓", "empty": ""},
			ClickAt:       ptr(time.Date(2026, 10, 30, 8, 0, 0, 1000, paris)),
			TransactionAt: time.Date(2026, 10, 31, 1, 2, 3, 999999000, paris),
			UpdatedAt:     ptr(time.Unix(0, 0).UTC()),
			ValidatedAt:   ptr(time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)),
			PaidAt:        ptr(time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("X", -7*3600))),
			Status:        "approved", StatusRaw: "Genehmigt ✔",
			SaleAmount: dec(t, "19.99"), CommissionAmount: dec(t, "-5.5"),
			Currency: "GBP", CustomerType: ptr("new"), Device: ptr("mobile"), Country: ptr("DE"),
			VoucherCode: ptr("SOMMER-🌞"), DeclineReason: ptr(""),
			FetchedAt: at, RunID: "r1", RawRef: "raw/a.json.gz#1", SpecHash: "s1", RowHash: "h2",
		},
		{ // amounts at the edges of decimal(18,6); an empty map
			Network: "awin", AccountID: "1002", TransactionID: "t-3",
			ClickRefs:     map[string]string{},
			TransactionAt: at, Status: "declined", StatusRaw: "declined",
			SaleAmount: dec(t, "999999999999.999999"), CommissionAmount: dec(t, "-999999999999.999999"),
			Currency: "USD", FetchedAt: at,
			RunID: "r1", RawRef: "raw/a.json.gz#2", SpecHash: "s1", RowHash: "h3",
		},
		{ // zero-ish values and the smallest step
			Network: "awin", AccountID: "1002", TransactionID: "",
			TransactionAt: time.Unix(0, 0).UTC(), Status: "paid", StatusRaw: "",
			SaleAmount: dec(t, "-5.5"), CommissionAmount: dec(t, "0.000001"),
			Currency: "JPY", FetchedAt: at,
			RunID: "r1", RawRef: "", SpecHash: "", RowHash: "",
		},
	}
	return rows
}

// normalized is what reading rows back must give: times in UTC, cut to
// the microsecond.
func normalized(rows []row.Unified) []row.Unified {
	out := make([]row.Unified, len(rows))
	tm := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	ptm := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		return ptr(tm(*t))
	}
	for i, r := range rows {
		r.ClickAt, r.UpdatedAt, r.ValidatedAt, r.PaidAt = ptm(r.ClickAt), ptm(r.UpdatedAt), ptm(r.ValidatedAt), ptm(r.PaidAt)
		r.TransactionAt, r.FetchedAt = tm(r.TransactionAt), tm(r.FetchedAt)
		out[i] = r
	}
	return out
}

func readUnified(t testing.TB, data []byte) []row.Unified {
	t.Helper()
	r := parquet.NewGenericReader[row.Unified](bytes.NewReader(data))
	defer r.Close()
	out := make([]row.Unified, 0, r.NumRows())
	buf := make([]row.Unified, 100)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		// The reader fills the maps and pointers it finds in buf: give it
		// none, or it would change rows already read.
		clear(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func writeUnified(t testing.TB, batches ...[]row.Unified) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewUnifiedWriter(&buf)
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnifiedRoundTrip(t *testing.T) {
	rows := sampleRows(t)
	many := make([]row.Unified, 2500) // more than one batch
	for i := range many {
		many[i] = rows[i%len(rows)]
	}
	for _, tc := range []struct {
		name    string
		batches [][]row.Unified
		want    []row.Unified
	}{
		{"one batch", [][]row.Unified{rows}, rows},
		{"row by row", [][]row.Unified{rows[:1], rows[1:2], rows[2:3], rows[3:]}, rows},
		{"empty batches", [][]row.Unified{nil, rows, {}}, rows},
		{"several parquet-go batches", [][]row.Unified{many}, many},
		{"no rows", nil, []row.Unified{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := writeUnified(t, tc.batches...)
			got := readUnified(t, data)
			want := normalized(tc.want)
			if len(got) != len(want) {
				t.Fatalf("read %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestUnifiedValues(t *testing.T) {
	got := readUnified(t, writeUnified(t, sampleRows(t)))
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"sale 0.1", decimal.Decimal{Unscaled: got[0].SaleAmount}.String(), "0.100000"},
		{"sale 19.99", decimal.Decimal{Unscaled: got[1].SaleAmount}.String(), "19.990000"},
		{"sale max", decimal.Decimal{Unscaled: got[2].SaleAmount}.String(), "999999999999.999999"},
		{"commission -max", decimal.Decimal{Unscaled: got[2].CommissionAmount}.String(), "-999999999999.999999"},
		{"sale -5.5", decimal.Decimal{Unscaled: got[3].SaleAmount}.String(), "-5.500000"},
		{"commission -5.5", got[1].CommissionAmount, int64(-5_500_000)},
		{"advertiser name", *got[1].AdvertiserName, "Café Zürich ☕ 東京"},
		{"voucher", *got[1].VoucherCode, "SOMMER-🌞"},
		{"empty string is not null", *got[1].DeclineReason, ""},
		{"null stays null", got[0].ParentTransactionID, (*string)(nil)},
		{"null time", got[0].ClickAt, (*time.Time)(nil)},
		{"map", got[1].ClickRefs, map[string]string{"clickRef": "sub1", "clickRef2": "ß✓", "empty": ""}},
		{"null map", got[0].ClickRefs == nil, true},
		{"empty map is not null", got[2].ClickRefs != nil && len(got[2].ClickRefs) == 0, true},
		{"transaction_at in UTC, µs", got[1].TransactionAt.Format(time.RFC3339Nano), "2026-10-31T00:02:03.999999Z"},
		{"click_at ns cut", got[1].ClickAt.Format(time.RFC3339Nano), "2026-10-30T07:00:00.000001Z"},
		{"paid_at from -07:00", got[1].PaidAt.Format(time.RFC3339Nano), "2027-01-01T07:00:00Z"},
		{"fetched_at", got[0].FetchedAt.Format(time.RFC3339Nano), "2026-11-01T00:59:59.123456Z"},
		{"epoch", got[3].TransactionAt.UnixMicro(), int64(0)},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	var sum int64
	for _, r := range got {
		sum += r.SaleAmount
	}
	if s := (decimal.Decimal{Unscaled: sum}).String(); s != "1000000000014.589999" {
		t.Errorf("sum of sale_amount = %s, want 1000000000014.589999", s)
	}
}

// schemaElement is what the file footer says of one column.
type schemaElement struct {
	physical  string // "" for a group
	repeat    format.FieldRepetitionType
	logical   string
	scale     int32
	precision int32
}

func footerSchema(t testing.TB, data []byte) (names []string, elems map[string]schemaElement) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	elems = map[string]schemaElement{}
	for i, e := range f.Metadata().Schema {
		if i == 0 {
			continue // the root
		}
		se := schemaElement{repeat: e.RepetitionType.V}
		if e.Type.Valid {
			se.physical = e.Type.V.String()
		}
		if e.LogicalType.Value != nil {
			se.logical = e.LogicalType.String()
		}
		if e.Scale.Valid {
			se.scale = e.Scale.V
		}
		if e.Precision.Valid {
			se.precision = e.Precision.V
		}
		names = append(names, e.Name)
		elems[e.Name] = se
	}
	return names, elems
}

const (
	tsMicrosUTC = "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)"
	dec18x6     = "DECIMAL(18,6)"
)

func TestUnifiedSchema(t *testing.T) {
	names, got := footerSchema(t, writeUnified(t, sampleRows(t)))
	req, opt, rep := format.Required, format.Optional, format.Repeated
	str := func(r format.FieldRepetitionType) schemaElement {
		return schemaElement{physical: "BYTE_ARRAY", repeat: r, logical: "STRING"}
	}
	ts := func(r format.FieldRepetitionType) schemaElement {
		return schemaElement{physical: "INT64", repeat: r, logical: tsMicrosUTC}
	}
	amount := schemaElement{physical: "INT64", repeat: req, logical: dec18x6, scale: 6, precision: 18}
	want := []struct {
		name string
		el   schemaElement
	}{
		{"network", str(req)},
		{"account_id", str(req)},
		{"transaction_id", str(req)},
		{"parent_transaction_id", str(opt)},
		{"order_ref", str(opt)},
		{"advertiser_id", str(opt)},
		{"advertiser_name", str(opt)},
		{"click_ref", str(opt)},
		{"click_refs", schemaElement{repeat: opt, logical: "MAP"}},
		{"key_value", schemaElement{repeat: rep}},
		{"key", str(req)},
		{"value", str(req)},
		{"click_at", ts(opt)},
		{"transaction_at", ts(req)},
		{"updated_at", ts(opt)},
		{"validated_at", ts(opt)},
		{"paid_at", ts(opt)},
		{"status", str(req)},
		{"status_raw", str(req)},
		{"sale_amount", amount},
		{"commission_amount", amount},
		{"currency", str(req)},
		{"customer_type", str(opt)},
		{"device", str(opt)},
		{"country", str(opt)},
		{"voucher_code", str(opt)},
		{"decline_reason", str(opt)},
		{"fetched_at", ts(req)},
		{"run_id", str(req)},
		{"raw_ref", str(req)},
		{"spec_hash", str(req)},
		{"row_hash", str(req)},
	}
	if len(names) != len(want) {
		t.Fatalf("file schema has %d elements %q, want %d", len(names), names, len(want))
	}
	for i, w := range want {
		if names[i] != w.name {
			t.Errorf("schema element %d is %q, want %q", i, names[i], w.name)
			continue
		}
		if got[w.name] != w.el {
			t.Errorf("column %s: got %+v, want %+v", w.name, got[w.name], w.el)
		}
	}
}

func TestUnifiedCompression(t *testing.T) {
	data := writeUnified(t, sampleRows(t))
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec != format.Zstd {
				t.Errorf("column %v: codec %v, want ZSTD", c.MetaData.PathInSchema, c.MetaData.Codec)
			}
		}
	}
}

func TestUnifiedRejectsInvalidUTF8(t *testing.T) {
	rows := sampleRows(t)
	for _, tc := range []struct {
		name   string
		change func(*row.Unified)
		col    string
	}{
		{"required string", func(u *row.Unified) { u.StatusRaw = "ok\xff" }, "status_raw"},
		{"optional string", func(u *row.Unified) { u.AdvertiserName = ptr("\xc3\x28") }, "advertiser_name"},
		{"map value", func(u *row.Unified) { u.ClickRefs = map[string]string{"a": "\x80"} }, "click_refs"},
		{"map key", func(u *row.Unified) { u.ClickRefs = map[string]string{"\x80": "a"} }, "click_refs"},
	} {
		bad := append([]row.Unified(nil), rows...)
		tc.change(&bad[2])
		var buf bytes.Buffer
		w := NewUnifiedWriter(&buf)
		err := w.Write(bad)
		var re *RowError
		if !errors.As(err, &re) || re.Row != 2 || re.Column != tc.col || !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("%s: err = %v, want a RowError for row 2, column %s", tc.name, err, tc.col)
		}
		// Nothing of the rejected batch was written; the writer goes on.
		if err := w.Write(rows[:1]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readUnified(t, buf.Bytes()); len(got) != 1 || w.Rows() != 1 {
			t.Errorf("%s: file holds %d rows (Rows() %d), want 1", tc.name, len(got), w.Rows())
		}
	}
}

// TestValidateMapped checks that ValidateMapped skips the engine's own
// columns, which its caller checks once, and checks every mapped one as
// ValidateUnified does.
func TestValidateMapped(t *testing.T) {
	rows := sampleRows(t)
	for _, tc := range []struct {
		change      func(*row.Unified)
		all, mapped string // the column each reports, "" for none
	}{
		{func(u *row.Unified) {}, "", ""},
		{func(u *row.Unified) { u.RunID = "r\xff" }, "run_id", ""},
		{func(u *row.Unified) { u.RawRef = "b\xff.json#1" }, "raw_ref", ""},
		{func(u *row.Unified) { u.AccountID = "\xc3" }, "account_id", ""},
		{func(u *row.Unified) { u.TransactionID = "\xc3" }, "transaction_id", "transaction_id"},
		{func(u *row.Unified) { u.DeclineReason = ptr("\x80") }, "decline_reason", "decline_reason"},
		{func(u *row.Unified) { u.ClickRefs = map[string]string{"a": "\x80"} }, "click_refs", "click_refs"},
	} {
		u := rows[0]
		tc.change(&u)
		for _, v := range []struct {
			name string
			f    func([]row.Unified) error
			want string
		}{{"ValidateUnified", ValidateUnified, tc.all}, {"ValidateMapped", ValidateMapped, tc.mapped}} {
			err := v.f([]row.Unified{u})
			var re *RowError
			switch {
			case v.want == "" && err != nil:
				t.Errorf("%s of a row with %q: %v, want nil", v.name, tc.all, err)
			case v.want != "" && (!errors.As(err, &re) || re.Column != v.want):
				t.Errorf("%s: %v, want column %s", v.name, err, v.want)
			}
		}
	}
}
