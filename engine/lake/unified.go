// Package lake writes the lake's Parquet and JSON Lines files: the unified
// transaction table (UnifiedWriter), each network's own table with a schema
// known only at run time (TableWriter), and the partitioned, atomic,
// deterministically named files of one run (Sink).
package lake

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/afflake/afflake/engine/row"
	"github.com/parquet-go/parquet-go"
)

// batchRows is how many rows of [][]any a TableWriter converts at once.
const batchRows = 1024

// pageBufferSize is how many bytes of values end a page: 64 KiB cut peak
// memory by about 40% against parquet-go's default of 256 KiB at no cost
// in speed.
const pageBufferSize = 64 << 10

// rowGroupRows bounds a row group. A writer holds its current row group's
// compressed pages in memory, so this bounds its memory: a file of 1M
// realistic unified rows (36 MB) peaked at +80 MB RSS as one row group and
// +30 MB with row groups of 128Ki rows, for the same file size and speed.
// DuckDB's own default (122,880 rows) is close.
const rowGroupRows = 32 << 10

// tableRowGroupRows bounds a row group of a network's own table, whose
// rows carry the raw record (a kilobyte or more each): 32Ki realistic
// rows held about 9 MB of compressed pages in memory; 16Ki halves that
// for a 0.2% larger file.
const tableRowGroupRows = 16 << 10

// RowError reports a row that cannot be written. Writers check a whole
// batch before writing any of it: when Write returns a *RowError nothing of
// that batch was written and the writer can go on with other rows.
type RowError struct {
	Row    int    // index of the row in the batch given to Write
	Column string // column name
	Err    error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %s: %v", e.Row, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// ErrInvalidUTF8 is the cause of a RowError for a string that is not valid
// UTF-8: Parquet STRING columns must hold UTF-8, and readers (DuckDB among
// them) refuse a file that does not.
var ErrInvalidUTF8 = errors.New("string is not valid UTF-8")

// UnifiedSchema is the Parquet schema of the unified transaction table, as
// given by the struct tags of row.Unified.
func UnifiedSchema() *parquet.Schema { return parquet.SchemaOf(row.Unified{}) }

// UnifiedWriter streams unified rows into one Parquet file (see pageFile):
// zstd, 64 KiB pages, row groups of at most 32Ki rows.
type UnifiedWriter struct {
	f    *pageFile
	rows int64
	// entries holds a row's map entries while they are sorted.
	entries []row.Ref
}

// NewUnifiedWriter returns a writer of one Parquet file to w. Close writes
// the footer; it does not close w.
func NewUnifiedWriter(w io.Writer) *UnifiedWriter {
	f, err := newPageFile(w, UnifiedSchema(), pageBufferSize)
	if err != nil {
		// The schema is row.Unified's; unifiedColumnsOf has checked
		// its field types.
		panic("lake: " + err.Error())
	}
	return &UnifiedWriter{f: f}
}

// Write appends rows. It first checks every row (strings must be valid
// UTF-8); on a *RowError nothing was written.
func (u *UnifiedWriter) Write(rows []row.Unified) error {
	if err := ValidateUnified(rows); err != nil {
		return err
	}
	return u.write(rows)
}

// write appends rows that were validated.
func (u *UnifiedWriter) write(rows []row.Unified) error {
	f := u.f
	for len(rows) > 0 && f.err == nil {
		n := min(len(rows), rowGroupRows-f.groupRows)
		u.writeRows(rows[:n])
		f.endRows(n, rowGroupRows)
		u.rows += int64(n)
		rows = rows[n:]
	}
	return f.err
}

// Rows is the number of rows written so far.
func (u *UnifiedWriter) Rows() int64 { return u.rows }

// Close flushes the rows and writes the file's footer.
func (u *UnifiedWriter) Close() error { return u.f.close() }

// ValidateUnified checks rows for values a Parquet file cannot hold: every
// string, map keys and values included, must be valid UTF-8.
func ValidateUnified(rows []row.Unified) error { return validateText(rows, textColumns) }

// ValidateMapped is ValidateUnified for rows whose engine-made columns
// (network, account_id, run_id, raw_ref, spec_hash, row_hash) the caller
// checked once for all of them: only the columns a mapping fills are.
func ValidateMapped(rows []row.Unified) error { return validateText(rows, mappedTextColumns) }

func validateText(rows []row.Unified, cols []unifiedColumn) error {
	for i := range rows {
		u := &rows[i]
		for c := range cols {
			uc := &cols[c]
			ok := true
			switch uc.kind {
			case unifiedString:
				ok = utf8.ValidString(*field[string](u, uc.offset))
			case unifiedOptString:
				s := *field[*string](u, uc.offset)
				ok = s == nil || utf8.ValidString(*s)
			case unifiedMapKey:
				ok = validMap(*field[map[string]string](u, uc.offset))
			}
			if !ok {
				name, _, _ := strings.Cut(uc.path, ".")
				return &RowError{Row: i, Column: name, Err: ErrInvalidUTF8}
			}
		}
	}
	return nil
}

// validMap reports whether m's keys and values are valid UTF-8.
func validMap(m map[string]string) bool {
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}
