package lake

import (
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/afflake/afflake/engine/row"
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

// textColumns are the unified columns that hold strings (a map's keys
// column stands for the map), mappedTextColumns those of them a mapping
// fills (row.Fields): the others are the engine's own.
var textColumns, mappedTextColumns = textColumnsOf(unifiedColumns)

func textColumnsOf(cols []unifiedColumn) (all, mapped []unifiedColumn) {
	isMapped := map[string]bool{}
	for _, f := range row.Fields {
		isMapped[f.Name] = true
	}
	for _, c := range cols {
		switch c.kind {
		case unifiedString, unifiedOptString, unifiedMapKey:
			all = append(all, c)
			if name, _, _ := strings.Cut(c.path, "."); isMapped[name] {
				mapped = append(mapped, c)
			}
		}
	}
	return all, mapped
}

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

// writeRows appends rows to every column of the file, column by column
// (a column's pages end on its own rows, so the file is the same as row
// by row), a map's entries sorted by key as parquet-go writes a Go map.
func (u *UnifiedWriter) writeRows(rows []row.Unified) {
	f := u.f
	for c := range unifiedColumns {
		uc, col := &unifiedColumns[c], &f.cols[c]
		off := uc.offset
		switch uc.kind {
		case unifiedString:
			for i := range rows {
				col.putString(*field[string](&rows[i], off), 0)
				f.endRow(col)
			}
		case unifiedOptString:
			for i := range rows {
				if s := *field[*string](&rows[i], off); s != nil {
					col.putString(*s, 0)
				} else {
					col.null(0, 0)
				}
				f.endRow(col)
			}
		case unifiedTime:
			for i := range rows {
				col.putInt(field[time.Time](&rows[i], off).UnixMicro(), 0)
				f.endRow(col)
			}
		case unifiedOptTime:
			for i := range rows {
				if t := *field[*time.Time](&rows[i], off); t != nil {
					col.putInt(t.UnixMicro(), 0)
				} else {
					col.null(0, 0)
				}
				f.endRow(col)
			}
		case unifiedInt:
			for i := range rows {
				col.putInt(*field[int64](&rows[i], off), 0)
				f.endRow(col)
			}
		case unifiedMapKey:
			values := &f.cols[c+1]
			for i := range rows {
				u.putMap(*field[map[string]string](&rows[i], off), col, values)
				f.endRow(col)
				f.endRow(values)
			}
		case unifiedMapValue:
			// written with the keys
		}
	}
}

// putMap appends a map to its key and value columns.
func (u *UnifiedWriter) putMap(kv map[string]string, keys, values *pageColumn) {
	switch len(kv) {
	case 0:
		def := uint8(0)
		if kv != nil {
			def = defEmptyMap
		}
		keys.null(def, 0)
		values.null(def, 0)
		return
	case 1:
		for k, v := range kv {
			keys.putString(k, 0)
			values.putString(v, 0)
		}
		return
	}
	es := row.SortedRefs(kv, u.entries[:0])
	for j, e := range es {
		rep := uint8(min(j, 1))
		keys.putString(e.Key, rep)
		values.putString(e.Value, rep)
	}
	clear(es)
	u.entries = es[:0]
}
