package lake

import (
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/afflake/afflake/engine/row"
	"github.com/parquet-go/parquet-go"
)

// unifiedKind is the Go type of the row.Unified field a leaf column of
// the unified table is written from.
type unifiedKind uint8

const (
	unifiedString    unifiedKind = iota // string
	unifiedOptString                    // *string
	unifiedTime                         // time.Time, as microseconds
	unifiedOptTime                      // *time.Time
	unifiedInt                          // int64
	unifiedMapKey                       // map[string]string: its keys
	unifiedMapValue                     // its values, the column after the keys
)

// unifiedColumn is a leaf column of the unified table.
type unifiedColumn struct {
	path   string // dotted path in UnifiedSchema
	kind   unifiedKind
	offset uintptr // of the field in row.Unified
}

// unifiedColumns are the leaf columns of UnifiedSchema, in its order (the
// order of the fields of row.Unified): a column's index is its column
// index.
var unifiedColumns = unifiedColumnsOf(reflect.TypeFor[row.Unified]())

// unifiedColumnsOf returns the leaf columns of struct type t, whose
// fields must be of the types unifiedKind lists.
func unifiedColumnsOf(t reflect.Type) []unifiedColumn {
	var cols []unifiedColumn
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		col := unifiedColumn{path: name, offset: f.Offset}
		switch f.Type {
		case reflect.TypeFor[string]():
			col.kind = unifiedString
		case reflect.TypeFor[*string]():
			col.kind = unifiedOptString
		case reflect.TypeFor[time.Time]():
			col.kind = unifiedTime
		case reflect.TypeFor[*time.Time]():
			col.kind = unifiedOptTime
		case reflect.TypeFor[int64]():
			col.kind = unifiedInt
		case reflect.TypeFor[map[string]string]():
			cols = append(cols,
				unifiedColumn{path: name + ".key_value.key", kind: unifiedMapKey, offset: f.Offset},
				unifiedColumn{path: name + ".key_value.value", kind: unifiedMapValue, offset: f.Offset})
			continue
		default:
			panic("lake: field " + f.Name + " of " + t.String() + " has a type the unified writer cannot write: " + f.Type.String())
		}
		cols = append(cols, col)
	}
	return cols
}

// field returns the field of type T at offset off of u.
func field[T any](u *row.Unified, off uintptr) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(u), off))
}

// Definition levels of a map column: the map is an optional group
// holding a repeated key_value group, whose key and value are required.
// A nil map has level 0, an empty one defEmptyMap, and each entry
// defMapEntry; every entry but a row's first repeats (level 1).
const (
	defEmptyMap = 1
	defMapEntry = 2
)

// mapEntries are the entries of a map column for a chunk of rows, each
// row's sorted by key as parquet-go writes a Go map.
type mapEntries struct {
	counts  []int // a row's entries; -1 for a nil map
	entries []mapEntry
}

type mapEntry struct{ key, value string }

func compareMapEntries(a, b mapEntry) int { return strings.Compare(a.key, b.key) }

// load reads the maps at offset off of rows.
func (m *mapEntries) load(rows []row.Unified, off uintptr) {
	m.counts, m.entries = m.counts[:0], m.entries[:0]
	for i := range rows {
		kv := *field[map[string]string](&rows[i], off)
		if kv == nil {
			m.counts = append(m.counts, -1)
			continue
		}
		start := len(m.entries)
		for k, v := range kv {
			m.entries = append(m.entries, mapEntry{k, v})
		}
		slices.SortFunc(m.entries[start:], compareMapEntries)
		m.counts = append(m.counts, len(kv))
	}
}

// release drops the references to the caller's strings.
func (m *mapEntries) release() {
	clear(m.entries[:cap(m.entries)])
	m.entries = m.entries[:0]
}

// writeChunk writes rows, at most maxRowsPerWrite, to every column of the
// current row group.
func (u *UnifiedWriter) writeChunk(rows []row.Unified) error {
	if cap(u.values) < len(rows) {
		u.values = make([]parquet.Value, maxRowsPerWrite)
	}
	cws := u.rg.ColumnWriters()
	for c := range unifiedColumns {
		if _, err := cws[c].WriteRowValues(u.columnValues(c, rows)); err != nil {
			return err
		}
	}
	return nil
}

// columnValues returns the values of column c for rows, in u.values: one
// per row, or for a map one per entry and per nil or empty map. A value
// is made in place and its levels set there: Value.Level, which returns a
// copy, takes several times as long as the rest of making a value.
func (u *UnifiedWriter) columnValues(c int, rows []row.Unified) []parquet.Value {
	off := unifiedColumns[c].offset
	vals := u.values[:len(rows)]
	switch unifiedColumns[c].kind {
	case unifiedString:
		for i := range rows {
			v := &vals[i]
			*v = parquet.ByteArrayValue(unsafeBytes(*field[string](&rows[i], off)))
			v.SetColumnIndex(c)
		}
	case unifiedOptString:
		for i := range rows {
			v := &vals[i]
			if s := *field[*string](&rows[i], off); s != nil {
				*v = parquet.ByteArrayValue(unsafeBytes(*s))
				v.SetDefinitionLevel(1)
			} else {
				*v = parquet.Value{}
			}
			v.SetColumnIndex(c)
		}
	case unifiedTime:
		for i := range rows {
			v := &vals[i]
			*v = parquet.Int64Value(field[time.Time](&rows[i], off).UnixMicro())
			v.SetColumnIndex(c)
		}
	case unifiedOptTime:
		for i := range rows {
			v := &vals[i]
			if t := *field[*time.Time](&rows[i], off); t != nil {
				*v = parquet.Int64Value(t.UnixMicro())
				v.SetDefinitionLevel(1)
			} else {
				*v = parquet.Value{}
			}
			v.SetColumnIndex(c)
		}
	case unifiedInt:
		for i := range rows {
			v := &vals[i]
			*v = parquet.Int64Value(*field[int64](&rows[i], off))
			v.SetColumnIndex(c)
		}
	case unifiedMapKey:
		u.maps.load(rows, off)
		if need := len(rows) + len(u.maps.entries); cap(u.values) < need {
			u.values = make([]parquet.Value, need)
		}
		return u.mapValues(c, false)
	case unifiedMapValue:
		return u.mapValues(c, true)
	}
	return vals
}

// mapValues returns the values of map column c from u.maps: its keys, or
// its values.
func (u *UnifiedWriter) mapValues(c int, values bool) []parquet.Value {
	vals := u.values[:0]
	entries := u.maps.entries
	for _, n := range u.maps.counts {
		if n <= 0 {
			vals = append(vals, parquet.Value{})
			v := &vals[len(vals)-1]
			if n == 0 {
				v.SetDefinitionLevel(defEmptyMap)
			}
			v.SetColumnIndex(c)
			continue
		}
		for j, e := range entries[:n] {
			s := e.key
			if values {
				s = e.value
			}
			vals = append(vals, parquet.ByteArrayValue(unsafeBytes(s)))
			v := &vals[len(vals)-1]
			if j > 0 {
				v.SetRepetitionLevel(1)
			}
			v.SetDefinitionLevel(defMapEntry)
			v.SetColumnIndex(c)
		}
		entries = entries[n:]
	}
	return vals
}
