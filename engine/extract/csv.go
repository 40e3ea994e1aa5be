package extract

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/afflake/afflake/engine/spec"
)

// bom is the UTF-8 byte order mark some exports start with.
var bom = []byte{0xEF, 0xBB, 0xBF}

// CSV converts a CSV body into a JSON array with one object per row,
// keyed by the names of the header row, every value a string. A value
// keeps bytes that are not UTF-8 as they are (a body in another encoding
// needs response.charset), so that its record is quarantined, not
// changed.
//
// A leading byte order mark is dropped; fields may be quoted (with ""
// for a quote inside) and span lines; lines end in LF or CRLF; blank
// lines are skipped. Header names are trimmed; an empty name becomes
// column_<n> (1-based) and a repeated one gets _2, _3, … A row shorter
// than the header lacks the missing keys; a row longer than the header
// is an error unless its extra fields are all empty (a trailing
// delimiter). An empty body, or one with a header and no rows, gives [].
func CSV(body []byte, delim rune) ([]byte, error) {
	body = trimBOM(body)
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("[]"), nil
	}
	return csvRows(body, delim)
}

// csvRows is CSV of a body that is not blank: a line of spaces is a row.
func csvRows(body []byte, delim rune) ([]byte, error) {
	r := newCSVReader(bytes.NewReader(body), delim)
	head, err := r.Read()
	if err == io.EOF {
		return []byte("[]"), nil
	}
	if err != nil {
		return nil, csvError(err)
	}
	keys := headerKeys(head)
	out := make([]byte, 0, len(body)+len(body)/2)
	out = append(out, '[')
	first := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if err := extraFields(r, rec, len(keys)); err != nil {
			return nil, err
		}
		rec = rec[:min(len(rec), len(keys))]
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '{')
		for i, v := range rec {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendString(out, keys[i])
			out = append(out, ':')
			out = appendJSONString(out, v, true)
		}
		out = append(out, '}')
	}
	return append(out, ']'), nil
}

// newCSVReader reads CSV rows as CSV reads them: quotes read lazily, rows
// of any length (extraFields checks them against the header).
func newCSVReader(in io.Reader, delim rune) *csv.Reader {
	r := csv.NewReader(in)
	r.Comma = delim
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return r
}

// csvDelim is the delimiter of a CSV response.
func csvDelim(r spec.Response) rune {
	if r.Delimiter != "" {
		return []rune(r.Delimiter)[0]
	}
	return ','
}

// extraFields checks that the fields of rec beyond the header's keys are
// empty (a trailing delimiter): a row longer than the header is an error.
func extraFields(r *csv.Reader, rec []string, keys int) error {
	for _, extra := range rec[min(keys, len(rec)):] {
		if extra != "" {
			line, _ := r.FieldPos(0)
			return &BodyError{Format: "CSV", Line: line, Offset: -1,
				Msg: fmt.Sprintf("%d fields, but the header has %d", len(rec), keys)}
		}
	}
	return nil
}

// headerKeys makes the record keys from the header row.
func headerKeys(head []string) []string {
	keys := make([]string, len(head))
	used := map[string]bool{}
	for i, h := range head {
		k := strings.TrimSpace(string([]rune(h))) // valid UTF-8, as written to JSON
		if k == "" {
			k = "column_" + strconv.Itoa(i+1)
		}
		if used[k] {
			n := 2
			for used[k+"_"+strconv.Itoa(n)] {
				n++
			}
			k += "_" + strconv.Itoa(n)
		}
		used[k] = true
		keys[i] = k
	}
	return keys
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &BodyError{Format: "CSV", Line: pe.Line, Offset: -1, Msg: pe.Err.Error()}
	}
	return &BodyError{Format: "CSV", Offset: -1, Msg: err.Error()}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte { return appendJSONString(dst, s, false) }

// appendJSONString appends s as a JSON string, with bytes that are not
// UTF-8 replaced by U+FFFD, or kept (keepInvalid): a value kept so is
// not valid UTF-8, and the record holding it goes to quarantine whole
// instead of a changed value reaching the lake.
func appendJSONString(dst []byte, s string, keepInvalid bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 && !keepInvalid {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
