package lake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// testCols cover every column type, declared out of alphabetical order.
var testCols = []Column{
	{"transaction_id", TypeString},
	{"amount", TypeDecimal},
	{"quantity", TypeInt},
	{"is_paid", TypeBool},
	{"date", TypeTimestamp},
	{"raw", TypeJSON},
	{"zz_note", TypeString},
	{"a_first", TypeInt},
}

func tableRows(t testing.TB) [][]any {
	d := func(s string) decimal.Decimal { return decimal.Decimal{Unscaled: dec(t, s)} }
	tokyo := time.FixedZone("JST", 9*3600)
	return [][]any{
		{"t-1", d("19.99"), int64(3), true, time.Date(2026, 11, 1, 9, 0, 0, 123456789, tokyo), `{"id":1,"x":[1,2]}`, "Ünïcødé ✓ 東京", int64(-1)},
		{nil, nil, nil, nil, nil, nil, nil, nil},
		{"", d("0.1"), int64(0), false, time.Unix(0, 0).UTC(), "null", "", int64(0)},
		{"t-4", d("999999999999.999999"), int64(9223372036854775807), true, time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC), json.RawMessage(`[1]`), "🌞", int64(-9223372036854775808)},
		{"t-5", d("-5.5"), 42, false, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), []byte(`"s"`), nil, int32(7)},
		{"t-6", d("-999999999999.999999"), nil, nil, nil, nil, "x", nil},
	}
}

// readTable reads a table file back as Go values: nil, string, int64, bool,
// decimal.Decimal or time.Time (UTC).
func readTable(t testing.TB, data []byte) (*parquet.File, [][]any) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	fields := f.Schema().Fields()
	r := parquet.NewReader(f)
	defer r.Close()
	var out [][]any
	buf := make([]parquet.Row, 10)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			vals := make([]any, len(fields))
			for _, v := range pr {
				c := v.Column()
				if v.IsNull() {
					continue
				}
				var ltv format.LogicalTypeValue
				if lt := fields[c].Type().LogicalType(); lt != nil {
					ltv = lt.Value
				}
				_, isDecimal := ltv.(*format.DecimalType)
				_, isTimestamp := ltv.(*format.TimestampType)
				switch {
				case isDecimal:
					vals[c] = decimal.Decimal{Unscaled: v.Int64()}
				case isTimestamp:
					vals[c] = time.UnixMicro(v.Int64()).UTC()
				case v.Kind() == parquet.ByteArray:
					vals[c] = string(v.ByteArray())
				case v.Kind() == parquet.Int64:
					vals[c] = v.Int64()
				case v.Kind() == parquet.Boolean:
					vals[c] = v.Boolean()
				default:
					t.Fatalf("column %d: unexpected value %v", c, v)
				}
			}
			out = append(out, vals)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return f, out
}

// wantTable is what rows read back as.
func wantTable(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for c, v := range r {
			switch x := v.(type) {
			case time.Time:
				v = x.UTC().Truncate(time.Microsecond)
			case int:
				v = int64(x)
			case int32:
				v = int64(x)
			case []byte:
				v = string(x)
			case json.RawMessage:
				v = string(x)
			}
			out[i][c] = v
		}
	}
	return out
}

func writeTable(t testing.TB, cols []Column, batches ...[][]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewTableWriter(&buf, cols)
	if err != nil {
		t.Fatal(err)
	}
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

func TestTableRoundTrip(t *testing.T) {
	rows := tableRows(t)
	many := make([][]any, 3000)
	for i := range many {
		many[i] = rows[i%len(rows)]
	}
	for _, tc := range []struct {
		name    string
		batches [][][]any
		want    [][]any
	}{
		{"one batch", [][][]any{rows}, rows},
		{"row by row", [][][]any{rows[:1], rows[1:2], rows[2:3], rows[3:4], rows[4:5], rows[5:]}, rows},
		{"several parquet-go batches", [][][]any{many}, many},
		{"no rows", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := readTable(t, writeTable(t, testCols, tc.batches...))
			want := wantTable(tc.want)
			if len(got) != len(want) {
				t.Fatalf("read %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d:\n got %#v\nwant %#v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestTableValues(t *testing.T) {
	_, got := readTable(t, writeTable(t, testCols, tableRows(t)))
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"decimal 19.99", got[0][1].(decimal.Decimal).String(), "19.990000"},
		{"decimal 0.1", got[2][1].(decimal.Decimal).String(), "0.100000"},
		{"decimal -5.5", got[4][1].(decimal.Decimal).String(), "-5.500000"},
		{"decimal max", got[3][1].(decimal.Decimal).String(), "999999999999.999999"},
		{"timestamp in UTC, µs", got[0][4].(time.Time).Format(time.RFC3339Nano), "2026-11-01T00:00:00.123456Z"},
		{"json text", got[0][5], `{"id":1,"x":[1,2]}`},
		{"non-ASCII", got[0][6], "Ünïcødé ✓ 東京"},
		{"empty string is not null", got[2][0], ""},
		{"false is not null", got[2][3], false},
		{"zero is not null", got[2][2], int64(0)},
		{"null", got[1][0], nil},
		{"max int", got[3][2], int64(9223372036854775807)},
		{"min int", got[3][7], int64(-9223372036854775808)},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestTableSchema(t *testing.T) {
	data := writeTable(t, testCols, tableRows(t))
	names, got := footerSchema(t, data)
	opt := format.Optional
	want := map[string]schemaElement{
		TypeString:    {physical: "BYTE_ARRAY", repeat: opt, logical: "STRING"},
		TypeJSON:      {physical: "BYTE_ARRAY", repeat: opt, logical: "STRING"},
		TypeInt:       {physical: "INT64", repeat: opt, logical: "INT(64,true)"},
		TypeBool:      {physical: "BOOLEAN", repeat: opt},
		TypeDecimal:   {physical: "INT64", repeat: opt, logical: dec18x6, scale: 6, precision: 18},
		TypeTimestamp: {physical: "INT64", repeat: opt, logical: tsMicrosUTC},
	}
	var wantNames []string
	for _, c := range testCols {
		wantNames = append(wantNames, c.Name)
	}
	// The file keeps the declared order, not parquet.Group's sorted one.
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("file columns %q, want %q", names, wantNames)
	}
	for _, c := range testCols {
		if got[c.Name] != want[c.Type] {
			t.Errorf("column %s (%s): got %+v, want %+v", c.Name, c.Type, got[c.Name], want[c.Type])
		}
	}
	// The schema parquet-go reads back agrees.
	f, _ := readTable(t, data)
	for i, fld := range f.Schema().Fields() {
		if fld.Name() != testCols[i].Name || !fld.Optional() {
			t.Errorf("field %d: %s optional=%v, want %s optional", i, fld.Name(), fld.Optional(), testCols[i].Name)
		}
	}
	s, err := TableSchema(testCols)
	if err != nil {
		t.Fatal(err)
	}
	if str := s.String(); !strings.Contains(str, "optional int64 amount (DECIMAL(18,6))") || strings.Index(str, "transaction_id") > strings.Index(str, "a_first") {
		t.Errorf("schema text:\n%s", str)
	}
	if gt := s.GoType(); gt.NumField() != len(testCols) || gt.Field(0).Tag.Get("parquet") != "transaction_id" {
		t.Errorf("GoType() = %v", gt)
	}
}

func TestTableColumnErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols []Column
		want string
	}{
		{"no columns", nil, "no columns"},
		{"empty name", []Column{{"", TypeString}}, "no name"},
		{"duplicate", []Column{{"a", TypeString}, {"a", TypeInt}}, "declared twice"},
		{"unknown type", []Column{{"a", "float"}}, `unknown column type "float"`},
	} {
		_, err := NewTableWriter(io.Discard, tc.cols)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTableValueErrors(t *testing.T) {
	cols := []Column{
		{"s", TypeString}, {"i", TypeInt}, {"b", TypeBool},
		{"d", TypeDecimal}, {"ts", TypeTimestamp}, {"j", TypeJSON},
	}
	good := []any{"x", int64(1), true, decimal.Decimal{Unscaled: 1}, time.Unix(1, 0), "{}"}
	with := func(c int, v any) []any {
		r := append([]any(nil), good...)
		r[c] = v
		return r
	}
	for _, tc := range []struct {
		name string
		row  []any
		col  string
		want string
	}{
		{"short row", good[:5], "*", "5 values for 6 columns"},
		{"long row", append(append([]any(nil), good...), 1), "*", "7 values for 6 columns"},
		{"int for string", with(0, int64(1)), "s", "int64 value for a string column"},
		{"invalid UTF-8", with(0, "a\xffb"), "s", "not valid UTF-8"},
		{"string for int", with(1, "1"), "i", "string value for a int column"},
		{"float for int", with(1, 1.5), "i", "float64 value for a int column"},
		{"string for bool", with(2, "true"), "b", "string value for a bool column"},
		{"int for decimal", with(3, int64(1)), "d", "int64 value for a decimal column"},
		{"decimal out of range", with(3, decimal.Decimal{Unscaled: 1_000_000_000_000_000_000}), "d", "out of decimal(18,6) range"},
		{"string for timestamp", with(4, "2026-11-01"), "ts", "string value for a timestamp column"},
		{"pointer for timestamp", with(4, ptr(time.Now())), "ts", "*time.Time value for a timestamp column"},
		{"map for json", with(5, map[string]any{}), "j", "map[string]interface {} value for a json column"},
		{"invalid UTF-8 json", with(5, []byte("\"\xff\"")), "j", "not valid UTF-8"},
	} {
		var buf bytes.Buffer
		w, err := NewTableWriter(&buf, cols)
		if err != nil {
			t.Fatal(err)
		}
		err = w.Write([][]any{good, good, tc.row})
		var re *RowError
		if !errors.As(err, &re) || re.Row != 2 || re.Column != tc.col || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want a RowError for row 2, column %s: %q", tc.name, err, tc.col, tc.want)
			continue
		}
		// Nothing of the batch was written; the writer goes on.
		if err := w.Write([][]any{good}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, rows := readTable(t, buf.Bytes()); len(rows) != 1 || w.Rows() != 1 {
			t.Errorf("%s: file holds %d rows (Rows() %d), want 1", tc.name, len(rows), w.Rows())
		}
	}
}

func TestRowGroupsAreBounded(t *testing.T) {
	cols := []Column{{"id", TypeInt}, {"s", TypeString}}
	rows := make([][]any, tableRowGroupRows+1000)
	for i := range rows {
		rows[i] = []any{int64(i), "x"}
	}
	data := writeTable(t, cols, rows)
	f, got := readTable(t, data)
	if n := len(f.RowGroups()); n != 2 {
		t.Errorf("%d row groups, want 2", n)
	}
	if len(got) != len(rows) || got[len(got)-1][0] != int64(len(rows)-1) {
		t.Errorf("read %d rows, want %d", len(got), len(rows))
	}
}
