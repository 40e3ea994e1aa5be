package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// Column types of a network's own table.
const (
	TypeString    = "string"    // STRING (UTF-8 BYTE_ARRAY); values string
	TypeInt       = "int"       // INT64; values int64 (int and int32 accepted)
	TypeBool      = "bool"      // BOOLEAN; values bool
	TypeDecimal   = "decimal"   // DECIMAL(18,6) on INT64; values decimal.Decimal
	TypeTimestamp = "timestamp" // TIMESTAMP(MICROS, UTC-adjusted) on INT64; values time.Time
	TypeJSON      = "json"      // STRING holding JSON text; values string, []byte or json.RawMessage
)

// Column is one column of a network's own table.
type Column struct{ Name, Type string }

// leafNode is the Parquet node of a column type; every column is optional.
func leafNode(typ string) (parquet.Node, error) {
	var n parquet.Node
	switch typ {
	case TypeString, TypeJSON:
		n = parquet.String()
	case TypeInt:
		n = parquet.Int(64)
	case TypeBool:
		n = parquet.Leaf(parquet.BooleanType)
	case TypeDecimal:
		n = parquet.Decimal(decimal.Scale, decimal.Precision, parquet.Int64Type)
	case TypeTimestamp:
		n = parquet.Timestamp(parquet.Microsecond)
	default:
		return nil, fmt.Errorf("unknown column type %q (want string, int, bool, decimal, timestamp or json)", typ)
	}
	return parquet.Optional(n), nil
}

// TableSchema is the Parquet schema of a table with cols, in their
// declared order. Names must be non-empty and unique.
func TableSchema(cols []Column) (*parquet.Schema, error) {
	if len(cols) == 0 {
		return nil, errors.New("table has no columns")
	}
	g := &orderedGroup{fields: make([]parquet.Field, len(cols))}
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("column %d has no name", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("column %q is declared twice", c.Name)
		}
		seen[c.Name] = true
		n, err := leafNode(c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		g.fields[i] = &orderedField{Node: n, name: c.Name, index: i}
	}
	return parquet.NewSchema("table", g), nil
}

// orderedGroup is a Parquet group whose fields keep the order they were
// given in. parquet.Group is a map and sorts its fields by name; the file
// schema of a network's table follows the spec's declaration order instead.
type orderedGroup struct {
	fields []parquet.Field
	gotype struct {
		once sync.Once
		t    reflect.Type
	}
}

func (g *orderedGroup) ID() int                     { return 0 }
func (g *orderedGroup) String() string              { return parquet.NewSchema("", g).String() }
func (g *orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g *orderedGroup) Optional() bool              { return false }
func (g *orderedGroup) Repeated() bool              { return false }
func (g *orderedGroup) Required() bool              { return true }
func (g *orderedGroup) Leaf() bool                  { return false }
func (g *orderedGroup) Fields() []parquet.Field     { return g.fields }
func (g *orderedGroup) Encoding() encoding.Encoding { return nil }
func (g *orderedGroup) Compression() compress.Codec { return nil }

// GoType is a struct with one field F<i> per column, in order; the writer
// does not need it (rows are written column by column).
func (g *orderedGroup) GoType() reflect.Type {
	g.gotype.once.Do(func() {
		fs := make([]reflect.StructField, len(g.fields))
		for i, f := range g.fields {
			fs[i] = reflect.StructField{
				Name: "F" + strconv.Itoa(i),
				Type: f.GoType(),
				Tag:  reflect.StructTag(`parquet:` + strconv.Quote(f.Name())),
			}
		}
		g.gotype.t = reflect.StructOf(fs)
	})
	return g.gotype.t
}

type orderedField struct {
	parquet.Node
	name  string
	index int
}

func (f *orderedField) Name() string { return f.name }

func (f *orderedField) Value(base reflect.Value) reflect.Value {
	switch base.Kind() {
	case reflect.Interface, reflect.Pointer:
		if base.IsNil() {
			return reflect.Value{}
		}
		return f.Value(base.Elem())
	case reflect.Struct:
		return base.Field(f.index)
	case reflect.Map:
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return reflect.Value{}
}

// TableWriter streams the rows of a network's own table, whose columns are
// known only at run time, into one Parquet file. Every column is optional
// and the file's columns keep the declared order.
type TableWriter struct {
	cols  []Column
	kinds []valueKind
	f     *pageFile
	rows  int64
	// scratch holds rows given as [][]any while they are written.
	scratch *TableBatch
}

// NewTableWriter returns a writer of one Parquet file with cols to w. Close
// writes the footer; it does not close w.
func NewTableWriter(w io.Writer, cols []Column) (*TableWriter, error) {
	schema, err := TableSchema(cols)
	if err != nil {
		return nil, err
	}
	f, err := newPageFile(w, schema, pageBufferSize)
	if err != nil {
		return nil, err
	}
	kinds := make([]valueKind, len(cols))
	for i, c := range cols {
		kinds[i] = kindOf(c.Type)
		// Min/max bounds of JSON documents serve no query and cost a
		// comparison of every value: skip them.
		f.cols[i].bounds = c.Type != TypeJSON
	}
	return &TableWriter{
		cols:  append([]Column(nil), cols...),
		kinds: kinds,
		f:     f,
	}, nil
}

// Columns are the table's columns.
func (t *TableWriter) Columns() []Column { return append([]Column(nil), t.cols...) }

// Write appends rows; each row holds one value per column, in column
// order: nil (null), string, int64, bool, decimal.Decimal or time.Time.
// It first checks every row; on a *RowError nothing was written.
func (t *TableWriter) Write(rows [][]any) error {
	if err := t.Validate(rows); err != nil {
		return err
	}
	return t.write(rows)
}

// Validate checks rows without writing them: their length and each value's
// type against its column, and that strings are valid UTF-8.
func (t *TableWriter) Validate(rows [][]any) error {
	return validateTable(t.cols, t.kinds, rows)
}

// ValidateTableRow checks one row of a table with cols as Validate does.
func ValidateTableRow(cols []Column, vals []any) error {
	kinds := make([]valueKind, len(cols))
	for i, c := range cols {
		kinds[i] = kindOf(c.Type)
	}
	return validateTable(cols, kinds, [][]any{vals})
}

func validateTable(cols []Column, kinds []valueKind, rows [][]any) error {
	for r, vals := range rows {
		if len(vals) != len(cols) {
			return &RowError{Row: r, Column: "*", Err: fmt.Errorf("row has %d values for %d columns", len(vals), len(cols))}
		}
		for c, v := range vals {
			if err := kinds[c].check(v); err != nil {
				return &RowError{Row: r, Column: cols[c].Name, Err: err}
			}
		}
	}
	return nil
}

// write appends rows that were validated, in batches.
func (t *TableWriter) write(rows [][]any) error {
	if t.scratch == nil {
		t.scratch = NewTableBatch(t.cols, batchRows)
	}
	b := t.scratch
	for len(rows) > 0 {
		n := min(len(rows), batchRows)
		b.Reset()
		for _, vals := range rows[:n] {
			for c, v := range vals {
				b.Set(c, v)
			}
			b.Commit()
		}
		err := t.writeBatch(b, 0, n)
		// Drop references to the caller's strings.
		b.Reset()
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// WriteBatch appends the rows of b. It first checks them; on a *RowError
// nothing was written.
func (t *TableWriter) WriteBatch(b *TableBatch) error {
	if err := checkBatch(t.cols, b); err != nil {
		return err
	}
	return t.writeBatch(b, 0, b.Len())
}

// checkBatch checks that b has the columns cols and valid values.
func checkBatch(cols []Column, b *TableBatch) error {
	if len(b.cols) != len(cols) {
		return &RowError{Row: 0, Column: "*", Err: fmt.Errorf("batch has %d columns for %d", len(b.cols), len(cols))}
	}
	for i, c := range b.cols {
		if c != cols[i] {
			return &RowError{Row: 0, Column: c.Name, Err: fmt.Errorf("batch column %d is %s %s, table column is %s %s", i, c.Name, c.Type, cols[i].Name, cols[i].Type)}
		}
	}
	return b.Validate()
}

// Rows is the number of rows written so far.
func (t *TableWriter) Rows() int64 { return t.rows }

// Close flushes the rows and writes the file's footer.
func (t *TableWriter) Close() error { return t.f.close() }

// valueKind is how a column's Go values are checked and converted.
type valueKind uint8

const (
	kindString valueKind = iota
	kindInt
	kindBool
	kindDecimal
	kindTimestamp
	kindJSON
)

func kindOf(typ string) valueKind {
	switch typ {
	case TypeInt:
		return kindInt
	case TypeBool:
		return kindBool
	case TypeDecimal:
		return kindDecimal
	case TypeTimestamp:
		return kindTimestamp
	case TypeJSON:
		return kindJSON
	}
	return kindString
}

var kindNames = [...]string{TypeString, TypeInt, TypeBool, TypeDecimal, TypeTimestamp, TypeJSON}

func (k valueKind) check(v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch k {
	case kindString:
		if s, isStr := v.(string); isStr {
			if !utf8.ValidString(s) {
				return ErrInvalidUTF8
			}
			ok = true
		}
	case kindInt:
		switch v.(type) {
		case int64, int, int32:
			ok = true
		}
	case kindBool:
		_, ok = v.(bool)
	case kindDecimal:
		var d decimal.Decimal
		if d, ok = v.(decimal.Decimal); ok && (d.Unscaled > maxUnscaled || d.Unscaled < -maxUnscaled) {
			return fmt.Errorf("%s is out of decimal(18,6) range", d)
		}
	case kindTimestamp:
		_, ok = v.(time.Time)
	case kindJSON:
		var s string
		switch x := v.(type) {
		case string:
			s, ok = x, true
		case json.RawMessage:
			s, ok = unsafeString(x), true
		case []byte:
			s, ok = unsafeString(x), true
		}
		if ok && !utf8.ValidString(s) {
			return ErrInvalidUTF8
		}
	}
	if !ok {
		return fmt.Errorf("%T value for a %s column", v, kindNames[k])
	}
	return nil
}

// maxUnscaled is the largest unscaled value of decimal(18,6).
const maxUnscaled = 999_999_999_999_999_999

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
