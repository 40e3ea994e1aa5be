package extract

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/spec"
)

// A body too large to hold in memory is read as a stream, twice: Scan
// checks all of it and plans runs of its records, then Parts cuts those
// runs out into parts, each a whole body like it (a JSON document with
// the same text around the record array, or a CSV text with the same
// header line) with some of its records. Plan.Read of a part gives the
// records it holds as Read of the body would, so a large body is mapped
// part by part, in parallel, in bounded memory, and only once it is
// known to be valid.

// ErrNotStreamable says a body cannot be read as a stream: it is XML,
// its records are unwound, the records path is not a plain dotted path
// of object keys (of a JSON body; a CSV body has none), the path does not
// lead to an array, or the text around the record array or a record is
// too large. Read it whole instead, which also gives the proper error
// when the body is not as the spec says.
var ErrNotStreamable = errors.New("the body cannot be read as a stream")

// maxEnvelope bounds the text around the record array that every part
// repeats.
const maxEnvelope = 1 << 20

// Plan is what Scan learned of a body: the text before and after its
// record array, the runs of records that make its parts, how many
// records the array holds, and whether the body is valid UTF-8.
type Plan struct {
	// A part is prefix, a run of records and suffix, with the record
	// array's brackets around the run in JSON. For JSON, prefix and
	// suffix are the text around the record array; for CSV, prefix is
	// the header line.
	prefix, suffix []byte
	csv            rune // the delimiter of a CSV body, 0 for JSON
	parts          []span
	cur            span  // the run being planned
	size           int64 // of the body, as read
	Records        int
	UTF8           bool
}

// Streamable reports whether bodies of the spec's response can be read as
// a stream (see ErrNotStreamable).
func Streamable(r spec.Response) bool {
	switch {
	case r.Unwind != "":
		return false
	case r.Format == "csv":
		return r.Records == ""
	case r.Format != "" && r.Format != "json":
		return false
	}
	_, ok := plainPath(r.Records)
	return ok
}

// plainPath splits a records path of plain object keys.
func plainPath(path string) ([]string, bool) {
	if path == "" {
		return nil, true
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" || strings.ContainsAny(s, `\*?#|@!=<>%{}[]"`+"`") {
			return nil, false
		}
	}
	return segs, true
}

// Scan reads the body in r as Read would, checks that it is one valid
// JSON document whose records path leads to an array (or CSV that CSV
// reads), and plans its parts: runs of records of about size bytes. A *BodyError says where it
// is not valid; ErrNotStreamable that it must be read whole.
func Scan(r io.Reader, resp spec.Response, size int) (*Plan, error) {
	if !Streamable(resp) {
		return nil, ErrNotStreamable
	}
	s, err := newStream(r, resp)
	if err != nil {
		return nil, err
	}
	if resp.Format == "csv" {
		return s.scanCSV(csvDelim(resp), size)
	}
	p := &Plan{UTF8: true}
	prefixAt := int64(s.pos)
	prefix, err := s.walk(resp.Records, func(rec []byte, utf8ok bool, off int64) {
		p.UTF8 = p.UTF8 && utf8ok
		p.plan(off, off+int64(len(rec)), size)
	})
	if err != nil {
		return nil, err
	}
	p.plan(-1, -1, size)
	suffixAt := s.off + int64(s.pos)
	suffix, err := s.rest()
	if err != nil {
		return nil, err
	}
	p.prefix, p.suffix, p.size = prefix, suffix, s.off+int64(s.pos)
	// The text around the array, checked as one document with an empty
	// array in the records' place.
	skel := make([]byte, 0, len(prefix)+2+len(suffix))
	skel = append(append(append(skel, prefix...), '[', ']'), suffix...)
	ok, utf8ok := Valid(skel)
	if !ok {
		err := syntaxError(skel)
		if be, isBE := err.(*BodyError); isBE && be.Offset >= 0 {
			// An offset in the body: before the array or after it.
			if be.Offset <= int64(len(prefix)) {
				be.Offset += prefixAt
			} else {
				be.Offset = suffixAt + max(be.Offset-int64(len(prefix))-2, 0)
			}
		}
		return nil, err
	}
	p.UTF8 = p.UTF8 && utf8ok
	return p, nil
}

// span is a run of records of a body: its body offsets, from the start
// of its first record to the end of its last, and the index of its first
// record. A body without records has one span with none, start -1.
type span struct {
	start, end int64
	first      int
}

// plan adds the record at body offsets [start, end) to the run being
// planned, which ends once it has size bytes. A start of -1 ends the
// body: the last run is kept, or an empty one if there were no records.
func (p *Plan) plan(start, end int64, size int) {
	if start < 0 {
		switch {
		case p.Records == 0:
			p.parts = append(p.parts, span{start: -1})
		case p.cur.end > p.cur.start: // records are never empty
			p.parts = append(p.parts, p.cur)
		}
		return
	}
	if p.cur.end <= p.cur.start {
		p.cur = span{start: start, first: p.Records}
	}
	p.cur.end = end
	p.Records++
	if p.cur.end-p.cur.start >= int64(size) {
		p.parts = append(p.parts, p.cur)
		p.cur = span{}
	}
}

// Parts reads the body Scan planned once more and calls fn with each part
// and the index of its first record. A part is the text of its records as
// the body has them, with the body's text around the record array: it is
// not scanned again. Each part is a new slice, fn's to keep.
func (p *Plan) Parts(r io.Reader, resp spec.Response, fn func(part []byte, first int) error) error {
	s, err := newStream(r, resp)
	if err != nil {
		return err
	}
	changed := errors.New("the body changed while it was read")
	for _, sp := range p.parts {
		n := max(sp.end-sp.start, 0)
		part := make([]byte, 0, int64(len(p.prefix)+2+len(p.suffix))+n)
		part = append(part, p.prefix...)
		if p.csv == 0 {
			part = append(part, '[')
		}
		if sp.start >= 0 {
			// Skip to the span, then take it.
			for s.off+int64(s.pos) < sp.start {
				if !s.need(1) {
					return changed
				}
				s.pos += int(min(sp.start-s.off-int64(s.pos), int64(len(s.buf)-s.pos)))
			}
			want := int64(len(part)) + n
			for int64(len(part)) < want {
				if !s.need(1) {
					return changed
				}
				k := int(min(want-int64(len(part)), int64(len(s.buf)-s.pos)))
				part = append(part, s.buf[s.pos:s.pos+k]...)
				s.pos += k
			}
		}
		if p.csv == 0 {
			part = append(part, ']')
		}
		part = append(part, p.suffix...)
		if err := fn(part, sp.first); err != nil {
			return err
		}
	}
	// The rest of the body, as long as it was.
	for s.need(1) {
		s.pos = len(s.buf)
	}
	if s.err != nil || s.off+int64(s.pos) != p.size {
		return changed
	}
	return nil
}

// maxRecord bounds a record read from a stream; a larger one (or an
// unterminated string that runs on) makes the body one to read whole.
var maxRecord = 64 << 20

// Read returns the record view of a part Parts gave. The part was
// checked by Scan: a JSON part is not checked again, nor copied (the
// view references it); a CSV part is converted as CSV converts a body.
// The view's UTF8 is the body's, as Scan found it.
func (p *Plan) Read(part []byte, resp spec.Response) (Doc, error) {
	doc := Doc{path: resp.Records, UTF8: p.UTF8}
	if p.csv != 0 {
		// A CSV part is converted as the body's rows are: checked by
		// Scan, it converts without error. (Its rows may be all
		// spaces where the body's are not.)
		conv, err := csvRows(part, p.csv)
		if err != nil {
			return doc, err
		}
		part = conv
	}
	doc.Root = gjson.Parse(unsafe.String(unsafe.SliceData(part), len(part)))
	return doc, nil
}

// scanCSV is Scan of a CSV body: it reads the rows as CSV reads them and
// fails where CSV fails, keeps the header line for every part, and plans
// runs of rows by their offsets in the body.
func (s *stream) scanCSV(delim rune, size int) (*Plan, error) {
	base := s.off + int64(s.pos) // after a byte-order mark
	head := &csvTee{blank: true}
	cr := newCSVReader(io.TeeReader(io.MultiReader(bytes.NewReader(s.buf[s.pos:]), s.r), head), delim)
	p := &Plan{UTF8: true, csv: delim}
	fields, err := cr.Read()
	switch {
	case err == io.EOF:
		p.plan(-1, -1, size)
		p.size = base + cr.InputOffset()
		return p, nil
	case err != nil:
		return nil, csvError(err)
	}
	keys := len(headerKeys(fields))
	headerEnd := cr.InputOffset()
	p.prefix = bytes.Clone(head.buf[:headerEnd])
	head.buf, head.done = nil, true
	for {
		start := cr.InputOffset()
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if err := extraFields(cr, rec, keys); err != nil {
			return nil, err
		}
		// The converted row is UTF-8 when its values are: CSV keeps
		// bytes that are not (a name of the header is made UTF-8).
		for _, f := range rec[:min(len(rec), keys)] {
			p.UTF8 = p.UTF8 && utf8.ValidString(f)
		}
		p.plan(base+start, base+cr.InputOffset(), size)
	}
	if head.blank && len(head.tail) == 0 {
		// Blank (white space only): no rows, as CSV reads it.
		p.Records, p.parts, p.UTF8 = 0, nil, true
	}
	p.plan(-1, -1, size)
	p.size = base + cr.InputOffset()
	return p, nil
}

// csvTee sees a CSV body as it is read: it keeps its first bytes until
// done (the header line), and whether all of it is white space, as
// bytes.TrimSpace reads it (tail holds a rune cut off at a read's end).
type csvTee struct {
	buf   []byte
	done  bool
	blank bool
	tail  []byte
}

func (t *csvTee) Write(b []byte) (int, error) {
	if !t.done {
		t.buf = append(t.buf, b...)
	}
	if t.blank {
		t.tail = append(t.tail, b...)
		rest := bytes.TrimLeftFunc(t.tail, unicode.IsSpace)
		if len(rest) > 0 && utf8.FullRune(rest) {
			t.blank, t.tail = false, nil
		} else {
			t.tail = append(t.tail[:0], rest...)
		}
	}
	return len(b), nil
}

// stream reads a body through a window of it, which keeps the bytes from
// a mark on.
type stream struct {
	r       io.Reader
	buf     []byte
	pos     int   // next byte to read
	mark    int   // index of the value being read, -1 when none
	keepAbs int64 // body offset of the envelope being kept, -1 when none
	off     int64 // body offset of buf[0]
	eof     bool
	err     error
	empty   int // reads in a row that gave nothing
}

// newStream reads r as Read reads a body: unzipped if gzipped, from the
// declared charset, without a byte-order mark. It reads r into its window
// directly: a file is not copied twice.
func newStream(r io.Reader, resp spec.Response) (*stream, error) {
	s := &stream{r: r, buf: make([]byte, 0, 256<<10), mark: -1, keepAbs: -1}
	if s.need(len(gzipMagic)) && bytes.HasPrefix(s.buf, gzipMagic) {
		zr, err := gzip.NewReader(s.unread())
		if err != nil {
			return nil, &BodyError{Offset: -1, Msg: "the body is gzipped but cannot be read: " + err.Error()}
		}
		s.restart(zr)
	}
	if dec := decoder(resp); dec != nil {
		s.restart(dec.Reader(s.unread()))
	}
	if s.need(len(bom)) && bytes.HasPrefix(s.buf, bom) {
		s.pos = len(bom) // offsets still count it, as Read's do
	}
	return s, nil
}

// unread is the body from the start of the window on: what the window
// holds, then the rest of r.
func (s *stream) unread() io.Reader {
	return io.MultiReader(bytes.NewReader(bytes.Clone(s.buf)), s.r)
}

// restart reads the body from r instead, from its start.
func (s *stream) restart(r io.Reader) {
	s.r, s.buf, s.pos, s.eof = r, s.buf[:0], 0, s.err != nil
}

// need makes n bytes from pos available, reading more as needed; false
// at the end of the body (or at an error, kept in err).
func (s *stream) need(n int) bool {
	for len(s.buf)-s.pos < n {
		if s.eof {
			return false
		}
		keep := s.pos
		if s.mark >= 0 {
			keep = min(keep, s.mark)
		}
		if s.keepAbs >= 0 {
			keep = min(keep, int(s.keepAbs-s.off))
		}
		if keep > 0 && keep >= len(s.buf)/2 {
			// Drop what is no longer kept.
			m := copy(s.buf, s.buf[keep:])
			s.buf = s.buf[:m]
			s.off += int64(keep)
			s.pos -= keep
			if s.mark >= 0 {
				s.mark -= keep
			}
		}
		if len(s.buf) == cap(s.buf) {
			s.buf = append(s.buf, make([]byte, cap(s.buf))...)[:len(s.buf)]
		}
		m, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+m]
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			s.eof, s.err = true, err
		case m == 0:
			if s.empty++; s.empty == 100 {
				s.eof, s.err = true, io.ErrNoProgress
			}
		default:
			s.empty = 0
		}
	}
	return true
}

// peek returns the byte at pos after whitespace, or false at the end.
func (s *stream) peek() (byte, bool) {
	for s.need(1) {
		c := s.buf[s.pos]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, true
		}
		s.pos++
	}
	return 0, false
}

// fail is the error for the body at pos: a read error, or the byte there
// and what was expected, in encoding/json's words.
func (s *stream) fail(want string) error {
	if s.err != nil {
		return &BodyError{Offset: -1, Msg: "reading the body: " + s.err.Error()}
	}
	if s.pos >= len(s.buf) {
		return &BodyError{Offset: s.off + int64(s.pos), Msg: "unexpected end of JSON input"}
	}
	// As encoding/json says it: after reading the byte.
	return &BodyError{Offset: s.off + int64(s.pos) + 1, Msg: fmt.Sprintf("invalid character %q %s", s.buf[s.pos], want)}
}

// invalid is the error for the value v at body offset off, which Valid
// refused.
func invalid(v []byte, off int64) error {
	err := syntaxError(v)
	if be, ok := err.(*BodyError); ok && be.Offset >= 0 {
		be.Offset += off
	}
	return err
}

// record reads the array element at pos, checks it, and moves pos past
// it. The text is valid until the next read.
func (s *stream) record() (rec []byte, utf8ok bool, err error) {
	if _, ok := s.peek(); !ok {
		return nil, false, s.fail("looking for beginning of value")
	}
	// Most records are whole in the window: checked where they lie.
	w := s.buf[s.pos:]
	if end, u := validValue(w, 0); end >= 0 && (end < len(w) || s.eof) {
		s.pos += end
		return w[:end], u, nil
	}
	// One that runs past the window (or is not valid): find its end,
	// reading on, then check it.
	v, err := s.value()
	if err != nil {
		return nil, false, err
	}
	ok, u := Valid(v)
	if !ok {
		return nil, false, invalid(v, s.off+int64(s.pos-len(v)))
	}
	return v, u, nil
}

// value moves pos past the JSON value that starts there and returns its
// text (valid until the next read). It finds where the value ends; it
// does not check it.
func (s *stream) value() ([]byte, error) {
	c, ok := s.peek()
	if !ok {
		return nil, s.fail("looking for beginning of value")
	}
	s.mark = s.pos
	defer func() { s.mark = -1 }()
	switch c {
	case '"':
		s.pos++
		if err := s.skipString(); err != nil {
			return nil, err
		}
	case '{', '[':
		for depth := 0; ; {
			if s.pos-s.mark > maxRecord {
				return nil, ErrNotStreamable
			}
			if !s.need(1) {
				return nil, s.fail("looking for end of value")
			}
			switch s.buf[s.pos] {
			case '"':
				s.pos++
				if err := s.skipString(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.pos++
			if depth == 0 {
				break
			}
		}
	default:
		// A scalar runs to a delimiter or the end of the body.
		for s.need(1) {
			if c := s.buf[s.pos]; c == ',' || c == ']' || c == '}' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			s.pos++
		}
		if s.err != nil || s.pos == s.mark {
			return nil, s.fail("looking for beginning of value")
		}
	}
	return s.buf[s.mark:s.pos], nil
}

// skipString moves pos past the closing quote of a string whose contents
// start at pos. A string that does not end is a body error; one that runs
// past maxRecord makes the body one to read whole.
func (s *stream) skipString() error {
	for s.need(1) {
		if s.pos-s.mark > maxRecord {
			return ErrNotStreamable
		}
		rest := s.buf[s.pos:]
		q := bytes.IndexAny(rest, `"\`)
		if q < 0 {
			s.pos = len(s.buf)
			continue
		}
		s.pos += q
		if rest[q] == '"' {
			s.pos++
			return nil
		}
		if !s.need(2) {
			break
		}
		s.pos += 2
	}
	return s.fail("in string literal")
}

// key reads the object key at pos and the colon after it. plain is
// false for a key written with escapes, which the walk does not follow.
func (s *stream) key() (k string, plain bool, err error) {
	v, err := s.value()
	if err != nil {
		return "", false, err
	}
	if len(v) < 2 || v[0] != '"' {
		return "", false, &BodyError{Offset: s.off + int64(s.pos-len(v)), Msg: "invalid character looking for beginning of object key string"}
	}
	k = string(v[1 : len(v)-1])
	if c, ok := s.peek(); !ok || c != ':' {
		return "", false, s.fail("after object key")
	}
	s.pos++
	return k, !strings.ContainsRune(k, '\\') && utf8.ValidString(k), nil
}

// walk follows path to the record array, calls rec with each record,
// whether it is valid UTF-8 and its body offset, and returns the text
// before the array. pos is then after the array.
func (s *stream) walk(path string, rec func(rec []byte, utf8ok bool, off int64)) ([]byte, error) {
	segs, _ := plainPath(path)
	// The text before the array is kept in the window as it is read.
	s.keepAbs = s.off + int64(s.pos)
	defer func() { s.keepAbs = -1 }()
	big := func() bool { return s.off+int64(s.pos)-s.keepAbs > maxEnvelope }
	for _, seg := range segs {
		c, ok := s.peek()
		if !ok {
			return nil, s.fail("looking for beginning of value")
		}
		if c != '{' {
			return nil, ErrNotStreamable
		}
		s.pos++
		for {
			c, ok := s.peek()
			if !ok {
				return nil, s.fail("looking for beginning of object key string")
			}
			switch c {
			case ',':
				s.pos++
				continue
			case '}':
				return nil, ErrNotStreamable // no such key
			}
			k, plain, err := s.key()
			if err != nil {
				return nil, err
			}
			if !plain {
				return nil, ErrNotStreamable
			}
			if k == seg {
				break
			}
			if _, err := s.value(); err != nil {
				return nil, err
			}
			if big() {
				return nil, ErrNotStreamable
			}
		}
	}
	c, ok := s.peek()
	if !ok {
		return nil, s.fail("looking for beginning of value")
	}
	if c != '[' || big() {
		return nil, ErrNotStreamable
	}
	prefix := bytes.Clone(s.buf[int(s.keepAbs-s.off):s.pos])
	s.keepAbs = -1
	s.pos++
	for n := 0; ; n++ {
		c, ok := s.peek()
		if !ok {
			return nil, s.fail("looking for beginning of value")
		}
		if c == ']' && n == 0 {
			s.pos++
			return prefix, nil
		}
		v, u, err := s.record()
		if err != nil {
			return nil, err
		}
		rec(v, u, s.off+int64(s.pos-len(v)))
		c, ok = s.peek()
		switch {
		case ok && c == ',':
			s.pos++
		case ok && c == ']':
			s.pos++
			return prefix, nil
		default:
			return nil, s.fail("after array element")
		}
	}
}

// rest reads the text after the record array to the end of the body.
func (s *stream) rest() ([]byte, error) {
	var out []byte
	for s.need(1) {
		out = append(out, s.buf[s.pos:]...)
		s.pos = len(s.buf)
		if len(out) > maxEnvelope {
			return nil, ErrNotStreamable
		}
	}
	if s.err != nil {
		return nil, s.fail("")
	}
	return out, nil
}
