// Package extract finds the records in a response body. Every format
// is read into the same record view, JSON: a CSV or XML body is
// converted once (see CSV and XML), then gjson paths, pagination and
// mappings read it as they read a JSON body.
package extract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/spec"
)

// ErrBody marks a body that cannot be read at all; nothing of it is
// mapped.
var ErrBody = errors.New("unreadable body")

// BodyError says why a body could not be read, and where.
type BodyError struct {
	Format string // "JSON" (also when empty), "CSV" or "XML"
	Offset int64  // byte offset of the problem, -1 if unknown
	Line   int    // 1-based line of the problem, 0 if unknown
	Msg    string
}

func (e *BodyError) Error() string {
	format := e.Format
	if format == "" {
		format = "JSON"
	}
	switch {
	case e.Line > 0:
		return fmt.Sprintf("not valid %s at line %d: %s", format, e.Line, e.Msg)
	case e.Offset >= 0:
		return fmt.Sprintf("not valid %s at byte %d: %s", format, e.Offset, e.Msg)
	}
	return e.Msg
}

func (e *BodyError) Unwrap() error { return ErrBody }

// Parse checks that body is valid JSON and returns its root. The body is
// not copied: results reference it, so the caller must not modify it.
func Parse(body []byte) (gjson.Result, error) {
	doc, err := Read(body, spec.Response{})
	return doc.Root, err
}

// parse is Parse, and also reports whether body is all valid UTF-8.
func parse(body []byte) (root gjson.Result, utf8ok bool, err error) {
	ok, utf8ok := Valid(body)
	if !ok {
		return gjson.Result{}, false, syntaxError(body)
	}
	if len(body) == 0 {
		return gjson.Result{}, false, &BodyError{Offset: 0, Msg: "empty body"}
	}
	return gjson.Parse(unsafe.String(&body[0], len(body))), utf8ok, nil
}

func syntaxError(body []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &BodyError{Offset: se.Offset, Msg: se.Error()}
	}
	if err != nil {
		return &BodyError{Offset: int64(len(body)), Msg: err.Error()}
	}
	if len(body) == 0 {
		return &BodyError{Offset: 0, Msg: "empty body"}
	}
	return &BodyError{Offset: -1, Msg: "not valid JSON"}
}

// Records returns the record array at path ("" for a top-level array).
func Records(root gjson.Result, path string) (gjson.Result, error) {
	arr := root
	if path != "" {
		arr = root.Get(path)
	}
	if !arr.IsArray() {
		where := "the body"
		if path != "" {
			where = fmt.Sprintf("records path %q", path)
		}
		msg := fmt.Sprintf("%s holds %s, not an array of records", where, expr.KindOf(arr))
		if hint := pathHint(root, path); hint != "" && (!arr.Exists() || arr.IsObject()) {
			msg += " (" + hint + ")"
		}
		return gjson.Result{}, &BodyError{Offset: -1, Msg: msg}
	}
	return arr, nil
}

// pathHint says where a records path that finds nothing stops in the
// body: the keys of the last object it reaches ("the body has Message,
// Status"), or what that value is ("data is null"). Only plain dotted
// paths are followed.
func pathHint(root gjson.Result, path string) string {
	segs, ok := plainPath(path)
	if !ok {
		return ""
	}
	cur, at := root, "the body"
	for i, seg := range segs {
		if !cur.IsObject() {
			break
		}
		next := cur.Get(seg)
		if !next.Exists() {
			break
		}
		cur, at = next, strings.Join(segs[:i+1], ".")
	}
	if !cur.IsObject() {
		if cur.Type == gjson.Null {
			return at + " is null"
		}
		return ""
	}
	var keys []string
	more := false
	cur.ForEach(func(k, _ gjson.Result) bool {
		if len(keys) == 8 {
			more = true
			return false
		}
		keys = append(keys, k.Str)
		return true
	})
	if len(keys) == 0 {
		return at + " is an empty object"
	}
	list := strings.Join(keys, ", ")
	if more {
		list += ", …"
	}
	return at + " has " + list
}

// Each calls fn for each record of arr with its index; it stops at the
// first error fn returns.
func Each(arr gjson.Result, fn func(i int, rec gjson.Result) error) error {
	i := 0
	var err error
	arr.ForEach(func(_, rec gjson.Result) bool {
		err = fn(i, rec)
		i++
		return err == nil
	})
	return err
}

// Doc is a response body in the record view.
type Doc struct {
	// Root is the whole document, JSON whatever the body's format: what
	// pagination and error expressions see as body.
	Root gjson.Result
	// UTF8 reports that Root is all valid UTF-8, and so are the
	// records: strings read from them need no check of their own. An
	// XML body is always converted to valid UTF-8; a CSV body keeps
	// bytes that are not.
	UTF8   bool
	path   string
	unwind []string
}

// Read reads body as the spec's response says (format, delimiter,
// element, records, unwind) and returns its record view: a gzipped body
// unzipped, a leading byte-order mark dropped. A JSON body is not copied:
// the view references it, so the caller must not modify it.
func Read(body []byte, r spec.Response) (Doc, error) {
	if bytes.HasPrefix(body, gzipMagic) {
		// Gzipped without saying so (a report file, a server that
		// compresses regardless): no JSON, CSV or XML starts this way.
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			return Doc{}, &BodyError{Offset: -1, Msg: "the body is gzipped but cannot be read: " + err.Error()}
		}
	}
	if dec := decoder(r); dec != nil {
		var err error
		if body, err = dec.Bytes(body); err != nil {
			return Doc{}, &BodyError{Offset: -1, Msg: fmt.Sprintf("not %s: %v", r.Charset, err)}
		}
	}
	doc, err := read(trimBOM(body), r)
	var be *BodyError
	if err != nil && bytes.HasPrefix(body, bom) && errors.As(err, &be) && be.Offset > 0 {
		be.Offset += int64(len(bom)) // a byte offset of the body as it came
	}
	return doc, err
}

// decoder decodes a body of the response's declared encoding other than
// UTF-8 (checked when the spec was loaded); nil when there is none. XML
// documents declare their own.
func decoder(r spec.Response) *encoding.Decoder {
	if r.Charset == "" || r.Format == "xml" {
		return nil
	}
	if enc, err := htmlindex.Get(r.Charset); err == nil && enc != unicode.UTF8 {
		return enc.NewDecoder()
	}
	return nil
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// trimBOM drops a leading UTF-8 byte order mark, which some APIs (and
// spreadsheet exports) put before a body: JSON, CSV and XML readers may
// ignore it.
func trimBOM(body []byte) []byte { return bytes.TrimPrefix(body, bom) }

// read is Read of a body as its format reads it.
func read(body []byte, r spec.Response) (Doc, error) {
	doc := Doc{path: r.Records}
	if r.Unwind != "" {
		doc.unwind = strings.Split(r.Unwind, ".")
	}
	var conv []byte
	var err error
	switch r.Format {
	case "", "json":
		doc.Root, doc.UTF8, err = parse(body)
		return doc, err
	case "csv":
		conv, err = CSV(body, csvDelim(r))
	case "xml":
		elem := ElementPath(r.Element)
		conv, err = XML(body, elem)
		if doc.path == "" {
			doc.path = gjsonPath(elem)
		}
	default:
		return doc, &BodyError{Offset: -1, Msg: fmt.Sprintf("response.format %q is not a format this engine reads", r.Format)}
	}
	if err != nil {
		return doc, err
	}
	doc.Root = gjson.Parse(unsafe.String(unsafe.SliceData(conv), len(conv)))
	// XML is decoded to UTF-8; CSV values keep what is not.
	doc.UTF8 = r.Format == "xml" || utf8.Valid(conv)
	return doc, nil
}

// gjsonPath joins names into a gjson path, escaping what gjson reads as
// syntax.
func gjsonPath(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('.')
		}
		for _, c := range n {
			if strings.ContainsRune(`.*?|#@\!=<>%{}[]"`, c) {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
		}
	}
	return b.String()
}

// RecordsPath is the gjson path of the record array in Root ("" for a
// top-level array).
func (d Doc) RecordsPath() string { return d.path }

// Records returns the record array. With response.unwind, each record
// becomes one record per element of its array at that path, the
// element in the array's place; a record whose array is empty, null or
// missing stays one record with null there, and a single object is read
// as an array of one.
func (d Doc) Records() (gjson.Result, error) {
	arr, err := Records(d.Root, d.path)
	if err != nil || d.unwind == nil {
		return arr, err
	}
	out := make([]byte, 0, len(arr.Raw)+len(arr.Raw)/4)
	out = append(out, '[')
	n := 0
	arr.ForEach(func(_, rec gjson.Result) bool {
		if !rec.IsObject() {
			out = appendSep(out, n)
			out = append(out, rec.Raw...)
			n++
			return true
		}
		elems := rec.Get(gjsonPath(d.unwind))
		switch {
		case elems.IsArray() && len(elems.Array()) > 0:
			elems.ForEach(func(_, e gjson.Result) bool {
				out = appendSep(out, n)
				out = replaceAt(out, rec, d.unwind, e.Raw)
				n++
				return true
			})
		case elems.IsObject():
			out = appendSep(out, n)
			out = replaceAt(out, rec, d.unwind, elems.Raw)
			n++
		default:
			out = appendSep(out, n)
			out = replaceAt(out, rec, d.unwind, "null")
			n++
		}
		return true
	})
	out = append(out, ']')
	return gjson.Parse(unsafe.String(unsafe.SliceData(out), len(out))), nil
}

func appendSep(out []byte, n int) []byte {
	if n > 0 {
		return append(out, ',')
	}
	return out
}

// replaceAt appends obj with the value at path replaced by val (added
// when missing).
func replaceAt(out []byte, obj gjson.Result, path []string, val string) []byte {
	out = append(out, '{')
	first, found := true, false
	obj.ForEach(func(k, v gjson.Result) bool {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, k.Raw...)
		out = append(out, ':')
		switch {
		case k.Str != path[0] || found:
			out = append(out, v.Raw...)
		case len(path) == 1:
			out = append(out, val...)
			found = true
		case v.IsObject():
			out = replaceAt(out, v, path[1:], val)
			found = true
		default:
			out = replaceAt(out, gjson.Result{}, path[1:], val)
			found = true
		}
		return true
	})
	if !found {
		if !first {
			out = append(out, ',')
		}
		out = appendString(out, path[0])
		out = append(out, ':')
		if len(path) == 1 {
			out = append(out, val...)
		} else {
			out = replaceAt(out, gjson.Result{}, path[1:], val)
		}
	}
	return append(out, '}')
}
