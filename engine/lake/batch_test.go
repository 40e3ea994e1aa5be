package lake

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/decimal"
)

// TestTableBatchRoundTrip writes the same rows as [][]any and as typed
// batches: the files read back the same.
func TestTableBatchRoundTrip(t *testing.T) {
	rows := tableRows(t)
	for _, size := range []int{1, 2, len(rows)} {
		var buf bytes.Buffer
		w, err := NewTableWriter(&buf, testCols)
		if err != nil {
			t.Fatal(err)
		}
		b := NewTableBatch(testCols, 1) // grows as rows are set
		for i, r := range rows {
			for c, v := range r {
				b.Set(c, v)
			}
			b.Commit()
			if b.Len() == size || i == len(rows)-1 {
				if err := w.WriteBatch(b); err != nil {
					t.Fatal(err)
				}
				b.Reset()
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, got := readTable(t, buf.Bytes())
		_, want := readTable(t, writeTable(t, testCols, rows))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("batches of %d:\n got %v\nwant %v", size, got, want)
		}
	}
}

func TestTableBatchErrors(t *testing.T) {
	cols := []Column{{"s", TypeString}, {"n", TypeInt}, {"d", TypeDecimal}}
	var buf bytes.Buffer
	w, err := NewTableWriter(&buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	row := func(b *TableBatch, s string, valid bool, n any) {
		b.SetString(0, s, valid)
		b.Set(1, n)
		b.SetDecimal(2, decimal.Decimal{Unscaled: 1})
		b.Commit()
	}
	tests := []struct {
		name string
		fill func(b *TableBatch)
		row  int
		col  string
	}{
		{"invalid UTF-8", func(b *TableBatch) { row(b, "ok", false, int64(1)); row(b, "\xff", false, int64(2)) }, 1, "s"},
		{"wrong type", func(b *TableBatch) { row(b, "a", true, "1") }, 0, "n"},
		{"out of range", func(b *TableBatch) {
			b.SetString(0, "a", true)
			b.SetInt(1, 1)
			b.SetDecimal(2, decimal.Decimal{Unscaled: maxUnscaled + 1})
			b.Commit()
		}, 0, "d"},
	}
	for _, tc := range tests {
		b := NewTableBatch(cols, 4)
		tc.fill(b)
		var re *RowError
		if err := w.WriteBatch(b); !errors.As(err, &re) || re.Row != tc.row || re.Column != tc.col {
			t.Errorf("%s: err = %v, want a RowError for row %d column %s", tc.name, err, tc.row, tc.col)
		}
	}
	// A bad value in a row that was not committed is forgotten.
	b := NewTableBatch(cols, 4)
	b.SetString(0, "a", true)
	b.Set(1, "not an int")
	row(b, "b", true, int64(2))
	if err := w.WriteBatch(b); err != nil {
		t.Errorf("uncommitted bad row: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, got := readTable(t, buf.Bytes()); len(got) != 1 || got[0][0] != "b" {
		t.Errorf("read %v, want the one good row", got)
	}
}

// TestTableBatchRowErr checks that the row being filled says why it would
// fail the batch, before it is committed, so that a caller can leave it
// out and write the others.
func TestTableBatchRowErr(t *testing.T) {
	cols := []Column{{"s", TypeString}, {"j", TypeJSON}, {"d", TypeDecimal}}
	b := NewTableBatch(cols, 2)
	fill := func(s string, valid bool, j []byte, d int64) error {
		b.SetString(0, s, valid)
		b.Set(1, j)
		b.SetDecimal(2, decimal.Decimal{Unscaled: d})
		return b.RowErr()
	}
	tests := []struct {
		name     string
		s        string
		valid    bool
		j        []byte
		d        int64
		col, err string
	}{
		{"good", "é", false, []byte(`{"a":"é"}`), 1, "", ""},
		{"string not UTF-8", "a\xffb", false, []byte(`{}`), 1, "s", "string is not valid UTF-8"},
		{"JSON not UTF-8", "a", true, []byte("{\"a\":\"\xc3\"}"), 1, "j", "string is not valid UTF-8"},
		{"out of range", "a", true, []byte(`{}`), maxUnscaled + 1, "d", "out of decimal(18,6) range"},
		// A caller's word that a string is valid is taken.
		{"trusted", "\xff", true, []byte(`{}`), 1, "", ""},
	}
	for _, tc := range tests {
		err := fill(tc.s, tc.valid, tc.j, tc.d)
		var re *RowError
		switch {
		case tc.col == "" && err != nil:
			t.Errorf("%s: RowErr = %v, want nil", tc.name, err)
		case tc.col != "" && (!errors.As(err, &re) || re.Column != tc.col || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: RowErr = %v, want column %s: %s", tc.name, err, tc.col, tc.err)
		}
		if tc.name == "good" {
			b.Commit()
		}
	}
	// The bad rows were not committed: the batch holds the good one.
	if err := b.Validate(); err != nil || b.Len() != 1 {
		t.Errorf("Validate = %v with %d rows, want nil with 1", err, b.Len())
	}
}

func TestSinkWriteTableBatch(t *testing.T) {
	st := newLake(t)
	cols := []Column{{"id", TypeString}, {"n", TypeInt}}
	s := NewSink(st, "net", "run1", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), cols, Options{MaxRowsPerFile: 3})
	b := NewTableBatch(cols, 8)
	for i := 0; i < 5; i++ {
		b.SetString(0, "x", true)
		b.SetInt(1, int64(i))
		b.Commit()
	}
	if err := s.WriteTableBatch(b); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTableBatch(NewTableBatch([]Column{{"id", TypeString}}, 1)); err == nil {
		t.Error("a batch of other columns was written")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, o := range s.Outputs() {
		rows += o.Rows
	}
	if len(s.Outputs()) != 2 || rows != 5 {
		t.Errorf("outputs %+v, want 2 files of 5 rows", s.Outputs())
	}
}
