package lake

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

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
}

type batchColumn struct {
	null []bool
	ints []int64 // int, decimal (unscaled), timestamp (µs since the epoch)
	strs []string
	bool []bool
	// unchecked is set when a string of the batch was not known to be
	// valid UTF-8: the column is checked before it is written.
	unchecked bool
	// bad is set when a value did not fit its column; err says why.
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
		d.unchecked, d.bad, d.err = false, false, nil
	}
	b.n = 0
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

// ok forgets a bad value an uncommitted row left in the current row.
func (b *TableBatch) ok(d *batchColumn) {
	if d.bad && d.badRow == b.n {
		d.bad, d.err = false, nil
	}
}

func (b *TableBatch) mismatch(c int, what string) {
	d := &b.data[c]
	if !d.bad {
		d.bad, d.badRow, d.err = true, b.n, fmt.Errorf("%s value for a %s column", what, kindNames[b.kinds[c]])
	}
	d.null[b.n] = true
}

// SetString sets a string or JSON column. valid says the caller knows s
// is valid UTF-8 (it is part of a checked document); otherwise it is
// checked when the batch is written.
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
	if !valid {
		d.unchecked = true
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
		if !d.bad {
			d.bad, d.badRow, d.err = true, b.n, fmt.Errorf("%s is out of decimal(18,6) range", v)
		}
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

// Validate checks the batch as TableWriter.Validate checks rows.
func (b *TableBatch) Validate() error {
	for c := range b.data {
		d := &b.data[c]
		if d.bad && d.badRow < b.n {
			return &RowError{Row: d.badRow, Column: b.cols[c].Name, Err: d.err}
		}
	}
	for c := range b.data {
		d := &b.data[c]
		if !d.unchecked {
			continue
		}
		for r := 0; r < b.n; r++ {
			if !d.null[r] && !utf8.ValidString(d.strs[r]) {
				return &RowError{Row: r, Column: b.cols[c].Name, Err: errInvalidUTF8}
			}
		}
	}
	return nil
}

// writeBatch appends rows [from, to) of a validated batch, column by
// column, into row groups of tableRowGroupRows rows.
func (t *TableWriter) writeBatch(b *TableBatch, from, to int) error {
	for from < to {
		if t.rg == nil {
			t.rg = t.w.BeginRowGroup()
		}
		n := min(to-from, tableRowGroupRows-t.rgRows)
		cws := t.rg.ColumnWriters()
		for c := range b.data {
			if err := t.writeColumn(cws[c], b, c, from, from+n); err != nil {
				return err
			}
		}
		t.rgRows += n
		t.rows += int64(n)
		from += n
		if t.rgRows >= tableRowGroupRows {
			t.rgRows = 0
			if _, err := t.rg.Commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxRowsPerWrite is how many rows of a column are given to parquet-go
// at once: it checks the page size after each call, so this bounds how
// far a page can grow beyond the page buffer size.
const maxRowsPerWrite = 64

func (t *TableWriter) writeColumn(cw *parquet.ColumnWriter, b *TableBatch, c, from, to int) error {
	d := &b.data[c]
	kind := b.kinds[c]
	if cap(t.values) < maxRowsPerWrite {
		t.values = make([]parquet.Value, maxRowsPerWrite)
	}
	for from < to {
		n := min(to-from, maxRowsPerWrite)
		vals := t.values[:n]
		// Values are built in place: Value.Level copies the value.
		for i := range vals {
			r := from + i
			v := &vals[i]
			switch {
			case d.null[r]:
				*v = parquet.Value{}
			case kind == kindString || kind == kindJSON:
				*v = parquet.ByteArrayValue(unsafeBytes(d.strs[r]))
				v.SetDefinitionLevel(1)
			case kind == kindBool:
				*v = parquet.BooleanValue(d.bool[r])
				v.SetDefinitionLevel(1)
			default:
				*v = parquet.Int64Value(d.ints[r])
				v.SetDefinitionLevel(1)
			}
			v.SetColumnIndex(c)
		}
		if _, err := cw.WriteRowValues(vals); err != nil {
			return err
		}
		clear(vals)
		from += n
	}
	return nil
}
