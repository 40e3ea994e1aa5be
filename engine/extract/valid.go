package extract

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is the deepest nesting of arrays and objects Valid accepts,
// the limit of encoding/json.
const maxDepth = 10000

// Valid reports whether b is one valid JSON document (RFC 8259: one value with optional
// surrounding whitespace) and, when it is, whether every byte of it is valid UTF-8.
//
// Validity is exactly encoding/json.Valid's: invalid UTF-8 inside a
// string does not make b invalid, it only clears utf8ok, and arrays and
// objects nest at most 10000 deep. When ok is false, so is utf8ok; when
// ok is true, utf8ok is utf8.Valid(b).
//
// Valid does not allocate, and its stack use does not grow with the
// nesting of b.
func Valid(b []byte) (ok, utf8ok bool) {
	end, utf8ok := validValue(b, skipSpace(b, 0))
	if end < 0 || skipSpace(b, end) != len(b) {
		return false, false
	}
	return true, utf8ok
}

// validValue checks the JSON value that starts at b[start] as Valid checks
// a document, and returns the index after it, or -1 if it is not valid or
// does not end in b; utf8ok is as Valid's for the value's bytes.
func validValue(b []byte, start int) (end int, utf8ok bool) {
	// parents has bit d set when the container of the array or object
	// at depth d+1 is an object, to restore inObject when it closes.
	var parents [(maxDepth + 63) / 64]uint64
	var depth uint    // arrays and objects open
	inObject := false // whether the innermost one is an object
	ascii := true     // whether the strings so far are all ASCII
	i := start
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; c {
		case '"':
			i, ascii = scanString(b, i+1, ascii)
		case '[', '{':
			if depth == maxDepth {
				return -1, false
			}
			if inObject {
				parents[depth/64] |= 1 << (depth % 64)
			} else {
				parents[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			inObject = c == '{'
			i = skipSpace(b, i+1)
			if i < len(b) && (b[i] == ']' || b[i] == '}') {
				break // empty: closed below like any other
			}
			if inObject {
				goto member
			}
			continue
		case 't':
			i = scanLiteral(b, i, "true")
		case 'f':
			i = scanLiteral(b, i, "false")
		case 'n':
			i = scanLiteral(b, i, "null")
		default:
			i = scanNumber(b, i)
		}
		if i < 0 {
			return -1, false
		}

	next:
		// A value ends before b[i]: the outermost one, or a comma or
		// the end of the value's array or object follows.
		if depth == 0 {
			// Only strings can hold non-ASCII bytes. If they did,
			// check the UTF-8 of the value whole: quicker than rune
			// by rune.
			return i, ascii || utf8.Valid(b[start:i])
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; {
		case c == ',':
			i = skipSpace(b, i+1)
			if !inObject {
				continue
			}
		case c == '}' && inObject, c == ']' && !inObject:
			// The array or object is itself a value that ends.
			i++
			depth--
			inObject = parents[depth/64]&(1<<(depth%64)) != 0
			goto next
		default:
			return -1, false
		}

	member:
		// An object member starts at b[i]: a key, a colon and a value.
		if i >= len(b) || b[i] != '"' {
			return -1, false
		}
		if i, ascii = scanString(b, i+1, ascii); i < 0 {
			return -1, false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return -1, false
		}
		i = skipSpace(b, i+1)
	}
}

// skipSpace returns the index of the first byte of b at or after i that
// is not JSON whitespace, or len(b).
func skipSpace(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
	}
	return i
}

// scanString checks the rest of a string whose contents start at b[i]
// and returns the index after its closing quote, or -1 if the string is
// not valid. It returns ascii cleared if the contents are not all ASCII;
// they are not checked for valid UTF-8.
func scanString(b []byte, i int, ascii bool) (int, bool) {
	for {
		// Skip plain ASCII eight bytes at a time.
		for len(b)-i >= 8 {
			if m := special(word(b, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, ascii
		case c == '\\':
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		case c < ' ':
			return -1, false
		case c < utf8.RuneSelf:
			i++ // plain, in the last few bytes of b
		default:
			// Skip the run of non-ASCII bytes: Valid checks them.
			ascii = false
			i++
			for i < len(b) && b[i] >= utf8.RuneSelf {
				i++
			}
		}
	}
}

// word returns the eight bytes of b from i as a little-endian integer,
// without a bounds check: the caller ensures i+8 <= len(b).
func word(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

const (
	ones  = 0x0101010101010101 // 0x01 in each byte
	highs = 0x8080808080808080 // 0x80 in each byte
)

// special returns, for a word of string bytes, a mask with the high bit
// of each byte that ends a run of plain ASCII: a quote, a backslash, a
// control byte or a non-ASCII byte. Only the lowest bit set is exact:
// bits above it may be spurious.
func special(w uint64) uint64 {
	// Subtracting ones*y from a word borrows in each byte below y,
	// setting its high bit; the borrow may also set the high bits of
	// the bytes above, never below. A byte c has c^0x02 below 0x21
	// when c is below 0x20 or is '"' (0x22^0x02 is 0x20), and c^'\\'
	// below 0x01 when c is '\\'. The high bits of w itself mark the
	// non-ASCII bytes, which never borrow.
	lowOrQuote := (w ^ ones*0x02) - ones*0x21
	backslash := (w ^ ones*'\\') - ones
	return (lowOrQuote | backslash | w) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanLiteral returns the index after lit if b[i:] starts with it, or -1.
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// scanNumber returns the index after the number that starts at b[i], or
// -1 if there is none: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// skipDigits returns the index of the first byte of b at or after i that
// is not a decimal digit, or len(b).
func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
