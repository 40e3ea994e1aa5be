package lake

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/afflake/afflake/engine/decimal"
)

// TableBatch holds rows of a network's own table column by column, with
// typed values: the form TableWriter writes without boxing a value per
// cell. A row is filled with the Set methods, one call per column, then
// kept with Commit (or dropped by not committing: the next row overwrites
// it). A batch belongs to one goroutine until it is given to a writer.
type TableBatch struct {
	cols  []Column
	kinds []valueKind
	n     int
	data  []batchColumn
	// anyBad is set once a column is bad, until Reset.
	anyBad bool
}

type batchColumn struct {
	null []bool
	ints []int64 // int, decimal (unscaled), timestamp (µs since the epoch)
	strs []string
	bool []bool
	// bad is set when a value did not fit its column (or a string was
	// not valid UTF-8); err says why.
	bad    bool
	badRow int
	err    error
}

// NewTableBatch returns an empty batch of rows with cols, room for size
// rows.
func NewTableBatch(cols []Column, size int) *TableBatch {
	b := &TableBatch{cols: cols, kinds: make([]valueKind, len(cols)), data: make([]batchColumn, len(cols))}
	for i, c := range cols {
		b.kinds[i] = kindOf(c.Type)
		d := &b.data[i]
		d.null = make([]bool, size)
		switch b.kinds[i] {
		case kindString, kindJSON:
			d.strs = make([]string, size)
		case kindBool:
			d.bool = make([]bool, size)
		default:
			d.ints = make([]int64, size)
		}
	}
	return b
}

// Len is the number of committed rows.
func (b *TableBatch) Len() int { return b.n }

// Columns are the batch's columns.
func (b *TableBatch) Columns() []Column { return b.cols }

// Reset empties the batch, keeping its memory.
func (b *TableBatch) Reset() {
	for i := range b.data {
		d := &b.data[i]
		clear(d.strs[:min(b.n+1, len(d.strs))])
		d.bad, d.err = false, nil
	}
	b.n = 0
	b.anyBad = false
}

// grow makes room for row b.n.
func (b *TableBatch) grow() {
	if len(b.data) == 0 || b.n < len(b.data[0].null) {
		return
	}
	size := 2*b.n + 16
	for i := range b.data {
		d := &b.data[i]
		d.null = append(d.null, make([]bool, size-len(d.null))...)
		if d.strs != nil {
			d.strs = append(d.strs, make([]string, size-len(d.strs))...)
		}
		if d.bool != nil {
			d.bool = append(d.bool, make([]bool, size-len(d.bool))...)
		}
		if d.ints != nil {
			d.ints = append(d.ints, make([]int64, size-len(d.ints))...)
		}
	}
}

// SetNull sets column c of the current row to null.
func (b *TableBatch) SetNull(c int) {
	b.grow()
	b.ok(&b.data[c])
	b.data[c].null[b.n] = true
}

// setBad marks column d bad in the current row, unless it already is in
// an earlier one (the first error of a column is kept).
func (b *TableBatch) setBad(d *batchColumn, err error) {
	if !d.bad {
		d.bad, d.badRow, d.err = true, b.n, err
		b.anyBad = true
	}
}

// ok forgets a bad value an uncommitted row left in the current row.
func (b *TableBatch) ok(d *batchColumn) {
	if d.bad && d.badRow == b.n {
		d.bad, d.err = false, nil
	}
}

func (b *TableBatch) mismatch(c int, what string) {
	d := &b.data[c]
	b.setBad(d, fmt.Errorf("%s value for a %s column", what, kindNames[b.kinds[c]]))
	d.null[b.n] = true
}

// SetString sets a string or JSON column. valid says the caller knows s
// is valid UTF-8 (it is part of a checked document); otherwise it is
// checked now, and a string that is not makes the row bad (RowErr).
func (b *TableBatch) SetString(c int, s string, valid bool) {
	b.grow()
	d := &b.data[c]
	if d.strs == nil {
		b.mismatch(c, "string")
		return
	}
	b.ok(d)
	d.null[b.n] = false
	d.strs[b.n] = s
	if !valid && !utf8.ValidString(s) {
		b.setBad(d, ErrInvalidUTF8)
	}
}

// SetInt sets an int column.
func (b *TableBatch) SetInt(c int, v int64) {
	b.grow()
	if b.kinds[c] != kindInt {
		b.mismatch(c, "int64")
		return
	}
	b.ok(&b.data[c])
	b.data[c].null[b.n] = false
	b.data[c].ints[b.n] = v
}

// SetBool sets a bool column.
func (b *TableBatch) SetBool(c int, v bool) {
	b.grow()
	if b.kinds[c] != kindBool {
		b.mismatch(c, "bool")
		return
	}
	b.ok(&b.data[c])
	b.data[c].null[b.n] = false
	b.data[c].bool[b.n] = v
}

// SetDecimal sets a decimal column.
func (b *TableBatch) SetDecimal(c int, v decimal.Decimal) {
	b.grow()
	d := &b.data[c]
	if b.kinds[c] != kindDecimal {
		b.mismatch(c, "decimal.Decimal")
		return
	}
	b.ok(d)
	if v.Unscaled > maxUnscaled || v.Unscaled < -maxUnscaled {
		b.setBad(d, fmt.Errorf("%s is out of decimal(18,6) range", v))
	}
	d.null[b.n] = false
	d.ints[b.n] = v.Unscaled
}

// SetTime sets a timestamp column.
func (b *TableBatch) SetTime(c int, v time.Time) {
	b.grow()
	if b.kinds[c] != kindTimestamp {
		b.mismatch(c, "time.Time")
		return
	}
	b.ok(&b.data[c])
	b.data[c].null[b.n] = false
	b.data[c].ints[b.n] = v.UnixMicro()
}

// Set sets column c from a value of the kinds Write takes (nil, string,
// int64, int, int32, bool, decimal.Decimal, time.Time, []byte).
func (b *TableBatch) Set(c int, v any) {
	switch x := v.(type) {
	case nil:
		b.SetNull(c)
	case string:
		b.SetString(c, x, false)
	case []byte:
		b.setBytes(c, x, v)
	case json.RawMessage:
		b.setBytes(c, x, v)
	case int64:
		b.SetInt(c, x)
	case int:
		b.SetInt(c, int64(x))
	case int32:
		b.SetInt(c, int64(x))
	case bool:
		b.SetBool(c, x)
	case decimal.Decimal:
		b.SetDecimal(c, x)
	case time.Time:
		b.SetTime(c, x)
	default:
		b.grow()
		b.mismatch(c, fmt.Sprintf("%T", v))
	}
}

// setBytes sets a JSON column from bytes (not copied: the batch refers to
// them until it is written).
func (b *TableBatch) setBytes(c int, x []byte, v any) {
	if b.kinds[c] != kindJSON {
		b.grow()
		b.mismatch(c, fmt.Sprintf("%T", v))
		return
	}
	b.SetString(c, unsafeString(x), false)
}

// Commit keeps the current row.
func (b *TableBatch) Commit() { b.n++ }

// RowErr says why the current row, not yet committed, would fail the
// batch: a value that does not fit its column, or a string that is not
// valid UTF-8. A caller that does not commit such a row keeps the rest
// of the batch writable.
func (b *TableBatch) RowErr() error {
	if !b.anyBad {
		return nil
	}
	for c := range b.data {
		if d := &b.data[c]; d.bad && d.badRow == b.n {
			return &RowError{Row: b.n, Column: b.cols[c].Name, Err: d.err}
		}
	}
	return nil
}

// Validate checks the batch as TableWriter.Validate checks rows: its
// strings were checked as they were set.
func (b *TableBatch) Validate() error {
	for c := range b.data {
		d := &b.data[c]
		if d.bad && d.badRow < b.n {
			return &RowError{Row: d.badRow, Column: b.cols[c].Name, Err: d.err}
		}
	}
	return nil
}

// writeBatch appends rows [from, to) of a validated batch into row
// groups of tableRowGroupRows rows, column by column: a column's pages
// end on its own rows, so the file is the same as row by row, and each
// column's values are read in one sweep.
func (t *TableWriter) writeBatch(b *TableBatch, from, to int) error {
	f := t.f
	for from < to && f.err == nil {
		n := min(to-from, tableRowGroupRows-f.groupRows)
		for c := range f.cols {
			col, d := &f.cols[c], &b.data[c]
			for r := from; r < from+n; r++ {
				switch {
				case d.null[r]:
					col.null(0, 0)
				case col.kind == kindString:
					col.putString(d.strs[r], 0)
				case col.kind == kindBool:
					col.putBool(d.bool[r], 0)
				default:
					col.putInt(d.ints[r], 0)
				}
				f.endRow(col)
			}
		}
		f.endRows(n, tableRowGroupRows)
		t.rows += int64(n)
		from += n
	}
	return f.err
}
