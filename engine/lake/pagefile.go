package lake

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// pageFile writes a Parquet file page by page, without parquet-go's
// generic column buffers: a writer (TableWriter, UnifiedWriter) hands
// each column the values of a batch of rows, column after column, each
// encoded straight into the page being filled, with its levels. A page
// ends on a row of its own column, so the order the columns are filled
// in does not change the file. A full page is compressed once into its
// column chunk, and a row group's chunks are written when it ends.
//
// The file: data pages v2 (levels RLE/bit-packed and uncompressed;
// strings DELTA_LENGTH_BYTE_ARRAY, as parquet-go writes them, other values
// PLAIN; values compressed with zstd, see zstdEncode), column chunk statistics
// (null count; min and max unless the column opts out), a page index
// (offset index of every chunk, column index of those with bounds),
// type-defined column orders. Page headers hold only null counts: the
// column index has the pages' bounds.
type pageFile struct {
	w   io.Writer
	off int64
	err error

	schema []format.SchemaElement
	cols   []pageColumn

	groups     []format.RowGroup
	indexes    [][]pageIndex // per row group, per column
	rows       int64         // rows of the written row groups
	groupRows  int           // rows of the open row group
	pageBuffer int           // value bytes that end a page

	levels []byte
	sbuf   []byte // a string page's encoded values
	zbuf   []byte
	hdr    bytes.Buffer
	enc    *thrift.Encoder
}

// pageIndex is the page index of a column chunk: its column index (nil
// when the chunk has no bounds) and its offset index.
type pageIndex struct {
	columns *format.ColumnIndex
	offsets *format.OffsetIndex
}

// pageColumn is one leaf column: the page being filled and the chunk of
// the open row group.
type pageColumn struct {
	path   []string
	kind   valueKind // kindString, kindInt or kindBool: how values are encoded
	phys   format.Type
	maxDef uint8
	maxRep uint8
	bounds bool // keep min and max statistics

	// The page being filled: the values of the defined entries (PLAIN,
	// or a string column's bytes one after the other, with offs their
	// offsets, from 0: DELTA_LENGTH_BYTE_ARRAY), a level per entry (when
	// the column has them), and counts.
	vals  []byte
	offs  []uint32
	defs  []byte
	reps  []byte
	n     int // entries, nulls included
	rows  int
	nulls int
	nbits int // booleans: value bits

	// The chunk of the open row group: its pages (headers and data).
	chunk        []byte
	values       int64
	nullCount    int64
	uncompressed int64

	// Bounds of the page being filled and of the chunk's pages before
	// it. Strings are copied into the byte slices; one longer than
	// maxBoundLen drops the chunk's bounds and its column index.
	has, chunkHas        bool
	tooLong              bool
	minI, maxI           int64
	chunkMinI, chunkMaxI int64
	minB, maxB           []byte
	chunkMinB, chunkMaxB []byte
	groupRows            int64 // rows of the chunk's pages before this one
	offsets              format.OffsetIndex
	index                format.ColumnIndex
	order                pageOrder
}

// pageOrder follows how the bounds of a chunk's pages, null pages aside,
// move from page to page, for the column index's boundary order: readers
// binary-search the pages of an ordered column.
type pageOrder struct {
	has, asc, desc bool
	minI, maxI     int64
	minB, maxB     []byte
}

// next compares the bounds of the column's page that ends with those of
// the page before it.
func (o *pageOrder) next(col *pageColumn) {
	if !o.has {
		o.has, o.asc, o.desc = true, true, true
	} else {
		var lo, hi int
		if col.kind == kindString {
			lo, hi = bytes.Compare(col.minB, o.minB), bytes.Compare(col.maxB, o.maxB)
		} else {
			lo, hi = cmp.Compare(col.minI, o.minI), cmp.Compare(col.maxI, o.maxI)
		}
		o.asc = o.asc && lo >= 0 && hi >= 0
		o.desc = o.desc && lo <= 0 && hi <= 0
	}
	if col.kind == kindString {
		o.minB, o.maxB = append(o.minB[:0], col.minB...), append(o.maxB[:0], col.maxB...)
	} else {
		o.minI, o.maxI = col.minI, col.maxI
	}
}

// boundary is the chunk's boundary order: ascending when its pages'
// bounds are all equal, or at most one page holds values.
func (o *pageOrder) boundary() format.BoundaryOrder {
	switch {
	case !o.has || o.asc:
		return format.Ascending
	case o.desc:
		return format.Descending
	}
	return format.Unordered
}

// maxBoundLen is the longest string kept as a bound of a page or a
// column chunk: chunk statistics are in the footer, which readers load
// whole.
const maxBoundLen = 512

// parquetMagic starts and ends every Parquet file.
const parquetMagic = "PAR1"

// newPageFile returns a writer of a file with schema to w, whose pages
// end at pageBuffer bytes of values.
func newPageFile(w io.Writer, schema *parquet.Schema, pageBuffer int) (*pageFile, error) {
	f := &pageFile{w: w, pageBuffer: pageBuffer}
	f.enc = thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&f.hdr))
	if err := f.addNode(schema, schema.Name(), nil, 0, 0, true); err != nil {
		return nil, err
	}
	f.write([]byte(parquetMagic))
	return f, nil
}

// addNode appends node's schema elements, depth first, and a column for
// each leaf, as parquet-go's writer describes a schema.
func (f *pageFile) addNode(node parquet.Node, name string, path []string, def, rep uint8, root bool) error {
	t := node.Type()
	e := format.SchemaElement{Name: name, FieldID: int32(node.ID())}
	if !root {
		switch {
		case node.Optional():
			e.RepetitionType.Set(format.Optional)
			def++
		case node.Repeated():
			e.RepetitionType.Set(format.Repeated)
			def++
			rep++
		default:
			e.RepetitionType.Set(format.Required)
		}
		path = append(path[:len(path):len(path)], name)
	}
	if lt := t.LogicalType(); lt != nil {
		e.LogicalType = *lt
		if d, ok := lt.Value.(*format.DecimalType); ok {
			e.Scale.Set(d.Scale)
			e.Precision.Set(d.Precision)
		}
	}
	if n := int32(t.Length()); n > 0 {
		e.TypeLength.Set(n)
	}
	if !node.Leaf() {
		e.NumChildren.Set(int32(len(node.Fields())))
	}
	if pt := t.PhysicalType(); pt != nil {
		e.Type.Set(*pt)
	}
	if ct := t.ConvertedType(); ct != nil {
		e.ConvertedType.Set(*ct)
	}
	f.schema = append(f.schema, e)
	if !node.Leaf() {
		for _, fd := range node.Fields() {
			if err := f.addNode(fd, fd.Name(), path, def, rep, false); err != nil {
				return err
			}
		}
		return nil
	}
	col := pageColumn{path: path, phys: *t.PhysicalType(), maxDef: def, maxRep: rep, bounds: true}
	switch col.phys {
	case format.ByteArray:
		col.kind = kindString
		col.offs = []uint32{0}
	case format.Int64:
		col.kind = kindInt
	case format.Boolean:
		col.kind = kindBool
	default:
		return fmt.Errorf("column %v: physical type %s is not written by the lake", path, col.phys)
	}
	f.cols = append(f.cols, col)
	return nil
}

// write appends p to the file.
func (f *pageFile) write(p []byte) {
	if f.err != nil {
		return
	}
	n, err := f.w.Write(p)
	f.off += int64(n)
	f.err = err
}

// entry counts an entry of the page with definition level def and
// repetition level rep.
func (col *pageColumn) entry(def, rep uint8) {
	if col.maxDef > 0 {
		col.defs = append(col.defs, def)
	}
	if col.maxRep > 0 {
		col.reps = append(col.reps, rep)
	}
	if rep == 0 {
		col.rows++
	}
	col.n++
}

// null appends a null (or an empty or missing repeated group) at
// definition level def, below the column's maximum.
func (col *pageColumn) null(def, rep uint8) {
	col.entry(def, rep)
	col.nulls++
}

// putString appends a defined string and widens the page's bounds to it.
func (col *pageColumn) putString(s string, rep uint8) {
	col.entry(col.maxDef, rep)
	col.vals = append(col.vals, s...)
	col.offs = append(col.offs, uint32(len(col.vals)))
	if !col.bounds || col.tooLong {
		return
	}
	switch {
	case len(s) > maxBoundLen:
		col.tooLong = true
	case !col.has:
		col.has = true
		col.minB = append(col.minB[:0], s...)
		col.maxB = append(col.maxB[:0], s...)
	case s < unsafeString(col.minB):
		col.minB = append(col.minB[:0], s...)
	case s > unsafeString(col.maxB):
		col.maxB = append(col.maxB[:0], s...)
	}
}

// putInt appends a defined INT64.
func (col *pageColumn) putInt(v int64, rep uint8) {
	col.entry(col.maxDef, rep)
	col.vals = binary.LittleEndian.AppendUint64(col.vals, uint64(v))
	col.bound(v)
}

// putBool appends a defined boolean: PLAIN booleans are bits, LSB first.
func (col *pageColumn) putBool(v bool, rep uint8) {
	col.entry(col.maxDef, rep)
	if col.nbits&7 == 0 {
		col.vals = append(col.vals, 0)
	}
	var b int64
	if v {
		col.vals[col.nbits>>3] |= 1 << (col.nbits & 7)
		b = 1
	}
	col.nbits++
	col.bound(b)
}

// bound widens the page's integer bounds to v.
func (col *pageColumn) bound(v int64) {
	switch {
	case !col.has:
		col.has, col.minI, col.maxI = true, v, v
	case v < col.minI:
		col.minI = v
	case v > col.maxI:
		col.maxI = v
	}
}

// endRow ends a row of col: its page is flushed when full. Pages end on
// rows, as data pages v2 require.
func (f *pageFile) endRow(col *pageColumn) {
	if len(col.vals) >= f.pageBuffer {
		f.flushPage(col)
	}
}

// endRows counts n rows given to every column, and ends the row group
// when it has maxRows.
func (f *pageFile) endRows(n, maxRows int) {
	f.groupRows += n
	if f.groupRows >= maxRows {
		f.flushGroup()
	}
}

// flushPage compresses the page of col into its chunk.
func (f *pageFile) flushPage(col *pageColumn) {
	if col.n == 0 || f.err != nil {
		return
	}
	lv := f.levels[:0]
	if col.maxRep > 0 {
		lv = appendLevels(lv, col.reps, col.maxRep)
	}
	repLen := len(lv)
	if col.maxDef > 0 {
		lv = appendLevels(lv, col.defs, col.maxDef)
	}
	f.levels = lv
	vals, enc := col.vals, format.Plain
	if col.kind == kindString {
		// Lengths (delta-encoded), then the bytes.
		var err error
		if f.sbuf, err = deltaLengths.EncodeByteArray(f.sbuf[:0], col.vals, col.offs); err != nil {
			f.err = err
			return
		}
		vals, enc = f.sbuf, format.DeltaLengthByteArray
	}
	z, err := zstdEncode(f.zbuf[:0], vals)
	if err != nil {
		f.err = err
		return
	}
	f.zbuf = z
	h := format.PageHeader{
		Type:                 format.DataPageV2,
		UncompressedPageSize: int32(len(lv) + len(vals)),
		CompressedPageSize:   int32(len(lv) + len(z)),
	}
	v2 := format.DataPageHeaderV2{
		NumValues:                  int32(col.n),
		NumNulls:                   int32(col.nulls),
		NumRows:                    int32(col.rows),
		Encoding:                   enc,
		DefinitionLevelsByteLength: int32(len(lv) - repLen),
		RepetitionLevelsByteLength: int32(repLen),
		Statistics:                 format.Statistics{NullCount: int64(col.nulls)},
	}
	v2.IsCompressed.Set(true)
	h.DataPageHeaderV2.Set(v2)
	f.hdr.Reset()
	if err := f.enc.Encode(&h); err != nil {
		f.err = err
		return
	}
	col.offsets.PageLocations = append(col.offsets.PageLocations, format.PageLocation{
		Offset:             int64(len(col.chunk)), // within the chunk until it is written
		CompressedPageSize: int32(f.hdr.Len() + len(lv) + len(z)),
		FirstRowIndex:      col.groupRows,
	})
	col.endPageBounds()
	col.chunk = append(col.chunk, f.hdr.Bytes()...)
	col.chunk = append(col.chunk, lv...)
	col.chunk = append(col.chunk, z...)
	col.groupRows += int64(col.rows)
	col.uncompressed += int64(f.hdr.Len() + len(lv) + len(vals))
	col.values += int64(col.n)
	col.nullCount += int64(col.nulls)
	col.vals, col.defs, col.reps = col.vals[:0], col.defs[:0], col.reps[:0]
	if col.kind == kindString {
		col.offs = col.offs[:1]
	}
	col.n, col.rows, col.nulls, col.nbits = 0, 0, 0, 0
}

// endPageBounds adds the page's bounds to the column index and widens the
// chunk's bounds to them.
func (col *pageColumn) endPageBounds() {
	if !col.bounds || col.tooLong {
		return
	}
	ci := &col.index
	ci.NullCounts = append(ci.NullCounts, int64(col.nulls))
	if !col.has {
		ci.NullPages = append(ci.NullPages, true)
		ci.MinValues = append(ci.MinValues, []byte{})
		ci.MaxValues = append(ci.MaxValues, []byte{})
		return
	}
	ci.NullPages = append(ci.NullPages, false)
	min, max := col.boundBytes(col.minI, col.maxI, col.minB, col.maxB)
	ci.MinValues = append(ci.MinValues, min)
	ci.MaxValues = append(ci.MaxValues, max)
	col.order.next(col)
	col.has = false
	if col.kind != kindString {
		if !col.chunkHas || col.minI < col.chunkMinI {
			col.chunkMinI = col.minI
		}
		if !col.chunkHas || col.maxI > col.chunkMaxI {
			col.chunkMaxI = col.maxI
		}
		col.chunkHas = true
		return
	}
	if !col.chunkHas || bytes.Compare(col.minB, col.chunkMinB) < 0 {
		col.chunkMinB = append(col.chunkMinB[:0], col.minB...)
	}
	if !col.chunkHas || bytes.Compare(col.maxB, col.chunkMaxB) > 0 {
		col.chunkMaxB = append(col.chunkMaxB[:0], col.maxB...)
	}
	col.chunkHas = true
}

// boundBytes encodes bounds as statistics do: integers as 8 bytes little
// endian, booleans as one byte, strings as they are (copied).
func (col *pageColumn) boundBytes(minI, maxI int64, minB, maxB []byte) (min, max []byte) {
	switch col.kind {
	case kindString:
		return bytes.Clone(minB), bytes.Clone(maxB)
	case kindBool:
		return []byte{byte(minI)}, []byte{byte(maxI)}
	}
	return binary.LittleEndian.AppendUint64(nil, uint64(minI)), binary.LittleEndian.AppendUint64(nil, uint64(maxI))
}

// appendLevels appends levels (each at most max) in the RLE/bit-packed
// hybrid encoding: a run of eight or more equal levels, or one that ends
// the page, as an RLE run; the others bit-packed, eight to a group.
func appendLevels(dst, levels []byte, max uint8) []byte {
	width := bits.Len8(max)
	n := len(levels)
	// run is the length of the run of equal levels at i, counted up to
	// limit.
	run := func(i, limit int) int {
		j := i + 1
		for j < n && j-i < limit && levels[j] == levels[i] {
			j++
		}
		return j - i
	}
	for i := 0; i < n; {
		if r := run(i, n); r >= 8 || i+r == n {
			dst = binary.AppendUvarint(dst, uint64(r)<<1)
			dst = append(dst, levels[i])
			i += r
			continue
		}
		// Bit-pack groups of eight up to the next long run (or the end).
		j := i + 8
		for j < n && run(j, 8) < 8 {
			j += 8
		}
		j = min(j, n)
		groups := (j - i + 7) / 8
		dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
		for g := 0; g < groups; g++ {
			var acc uint64
			for k := 0; k < 8; k++ {
				if p := i + g*8 + k; p < j {
					acc |= uint64(levels[p]) << (k * width)
				}
			}
			for b := 0; b < width; b++ {
				dst = append(dst, byte(acc>>(8*b)))
			}
		}
		i = j
	}
	return dst
}

// flushGroup writes the open row group.
func (f *pageFile) flushGroup() {
	if f.groupRows == 0 {
		return
	}
	for i := range f.cols {
		f.flushPage(&f.cols[i])
	}
	if f.err != nil {
		return
	}
	rg := format.RowGroup{
		NumRows:    int64(f.groupRows),
		FileOffset: f.off,
		Ordinal:    int16(len(f.groups)),
		Columns:    make([]format.ColumnChunk, len(f.cols)),
	}
	indexes := make([]pageIndex, len(f.cols))
	for i := range f.cols {
		col := &f.cols[i]
		off := f.off
		f.write(col.chunk)
		offsets := &format.OffsetIndex{PageLocations: slices.Clone(col.offsets.PageLocations)}
		for j := range offsets.PageLocations {
			offsets.PageLocations[j].Offset += off
		}
		indexes[i].offsets = offsets
		if col.bounds && !col.tooLong {
			ci := col.index
			ci.BoundaryOrder = col.order.boundary()
			indexes[i].columns = &ci
		}
		col.order.has = false
		col.offsets.PageLocations = col.offsets.PageLocations[:0]
		col.index = format.ColumnIndex{}
		col.groupRows = 0
		rg.Columns[i] = format.ColumnChunk{
			FileOffset: off,
			MetaData: format.ColumnMetaData{
				Type:                  col.phys,
				Encoding:              col.encodings(),
				PathInSchema:          col.path,
				Codec:                 format.Zstd,
				NumValues:             col.values,
				TotalUncompressedSize: col.uncompressed,
				TotalCompressedSize:   int64(len(col.chunk)),
				DataPageOffset:        off,
				Statistics:            col.statistics(),
			},
		}
		rg.TotalByteSize += col.uncompressed
		rg.TotalCompressedSize += int64(len(col.chunk))
		col.chunk = col.chunk[:0]
		col.values, col.nullCount, col.uncompressed = 0, 0, 0
		col.has, col.chunkHas, col.tooLong = false, false, false
	}
	f.groups = append(f.groups, rg)
	f.indexes = append(f.indexes, indexes)
	f.rows += int64(f.groupRows)
	f.groupRows = 0
}

// encodings are the encodings of the column's pages: of its values and
// of its levels.
func (col *pageColumn) encodings() []format.Encoding {
	if col.kind == kindString {
		return []format.Encoding{format.DeltaLengthByteArray, format.RLE}
	}
	return []format.Encoding{format.Plain, format.RLE}
}

// deltaLengths encodes the values of string pages.
var deltaLengths = new(delta.LengthByteArrayEncoding)

// statistics are the chunk's statistics.
func (col *pageColumn) statistics() format.Statistics {
	s := format.Statistics{NullCount: col.nullCount}
	if col.chunkHas && col.bounds && !col.tooLong {
		s.MinValue, s.MaxValue = col.boundBytes(col.chunkMinI, col.chunkMaxI, col.chunkMinB, col.chunkMaxB)
	}
	return s
}

// writeIndexes writes the page index of every chunk, column indexes
// first, and points the chunks at it.
func (f *pageFile) writeIndexes() {
	for g := range f.groups {
		for i := range f.cols {
			if ci := f.indexes[g][i].columns; ci != nil {
				c := &f.groups[g].Columns[i]
				c.ColumnIndexOffset, c.ColumnIndexLength = f.encode(ci)
			}
		}
	}
	for g := range f.groups {
		for i := range f.cols {
			c := &f.groups[g].Columns[i]
			c.OffsetIndexOffset, c.OffsetIndexLength = f.encode(f.indexes[g][i].offsets)
		}
	}
}

// encode writes v in thrift's compact protocol and returns where.
func (f *pageFile) encode(v any) (int64, int32) {
	off := f.off
	f.hdr.Reset()
	if err := f.enc.Encode(v); err != nil && f.err == nil {
		f.err = err
	}
	f.write(f.hdr.Bytes())
	return off, int32(f.off - off)
}

// close writes the last row group and the footer.
func (f *pageFile) close() error {
	f.flushGroup()
	orders := make([]format.ColumnOrder, len(f.cols))
	for i := range orders {
		orders[i] = format.ColumnOrder{Value: new(format.TypeDefinedOrder)}
	}
	md := format.FileMetaData{
		Version:      2,
		Schema:       f.schema,
		NumRows:      f.rows,
		RowGroups:    f.groups,
		CreatedBy:    "afflake",
		ColumnOrders: orders,
	}
	f.writeIndexes()
	_, n := f.encode(&md)
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(n))
	copy(tail[4:], parquetMagic)
	f.write(tail[:])
	return f.err
}
