// Package decimal holds exact decimal amounts with six fractional digits,
// the decimal(18,6) of the unified row. Amounts are parsed from their
// text, never through float64; extra fractional digits are rounded half
// to even and reported so that the caller can count them.
package decimal

import (
	"errors"
	"fmt"
	"strconv"
)

// Scale is the number of fractional digits kept.
const Scale = 6

// Precision is the total number of digits a Decimal may have.
const Precision = 18

const unit = 1_000_000 // 10^Scale

// max is the largest unscaled value decimal(18,6) can hold.
const max = 999_999_999_999_999_999

// Decimal is an exact amount: Unscaled / 10^6.
type Decimal struct{ Unscaled int64 }

// Errors returned by Parse.
var (
	ErrSyntax = errors.New("not a decimal number")
	ErrRange  = errors.New("out of decimal(18,6) range")
)

// Zero is 0.000000.
var Zero Decimal

// FromInt returns n as a Decimal, or ErrRange.
func FromInt(n int64) (Decimal, error) {
	if n > max/unit || n < -max/unit {
		return Decimal{}, ErrRange
	}
	return Decimal{n * unit}, nil
}

// Parse reads a decimal number's text: an optional sign, digits, an
// optional fractional part after sep ('.' or ','), and an optional
// exponent (e/E) when sep is '.'. Leading and trailing spaces are
// ignored. rounded reports that digits beyond the sixth fractional one
// were dropped (rounding half to even).
func Parse(s string, sep byte) (d Decimal, rounded bool, err error) {
	return parse(s, sep)
}

func parse(s string, sep byte) (Decimal, bool, error) {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	s = s[i:j]
	if s == "" {
		return Decimal{}, false, ErrSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	// Split off an exponent.
	exp := 0
	if sep == '.' {
		for k := 0; k < len(s); k++ {
			if s[k] == 'e' || s[k] == 'E' {
				e, err := strconv.Atoi(s[k+1:])
				if err != nil || k == 0 || e > 40 || e < -400 {
					return Decimal{}, false, ErrSyntax
				}
				exp = e
				s = s[:k]
				break
			}
		}
	}
	// Collect digits: integer part, fractional part.
	var digits [64]byte
	nd := 0     // significant digits kept in digits
	point := -1 // number of digits before the decimal point
	seen := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if nd == 0 && c == '0' && point < 0 {
				continue // leading zero of the integer part
			}
			if nd == len(digits) {
				if point < 0 {
					return Decimal{}, false, ErrRange
				}
				// Beyond 64 significant digits only matters for rounding:
				// any non-zero digit makes a tie round up.
				if c != '0' {
					digits[nd-1] |= 0x80 // sticky marker
				}
				continue
			}
			digits[nd] = c - '0'
			nd++
		case c == sep && point < 0:
			point = nd
		default:
			return Decimal{}, false, ErrSyntax
		}
	}
	if !seen {
		return Decimal{}, false, ErrSyntax
	}
	if point < 0 {
		point = nd
	}
	point += exp
	// The value is 0.d1d2d3… × 10^point. Keep digits up to Scale after the point.
	keep := point + Scale
	var v uint64
	rounded := false
	if keep > 19 {
		return Decimal{}, false, ErrRange
	}
	if keep < 0 {
		// Every digit lies below the sixth fractional place: the value
		// rounds to zero.
		return Decimal{}, nd > 0, nil
	}
	for k := 0; k < keep; k++ {
		var dg uint64
		if k < nd && k >= 0 {
			dg = uint64(digits[k] & 0x7f)
		}
		v = v*10 + dg
	}
	if keep < nd {
		// Round half to even on the dropped digits.
		first := digits[keep] & 0x7f
		rest := digits[keep]&0x80 != 0
		for k := keep + 1; k < nd && !rest; k++ {
			if digits[k] != 0 {
				rest = true
			}
		}
		if first != 0 || rest {
			rounded = true
		}
		if first > 5 || (first == 5 && (rest || v%2 == 1)) {
			v++
		}
	} else if keep > nd && nd > 0 && digits[nd-1]&0x80 != 0 {
		rounded = true
	}
	if v > max {
		return Decimal{}, false, ErrRange
	}
	n := int64(v)
	if neg {
		n = -n
	}
	return Decimal{n}, rounded, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// String formats d with all six fractional digits: "19.990000".
func (d Decimal) String() string {
	var buf [32]byte
	return string(d.Append(buf[:0]))
}

// Append appends d's text to b.
func (d Decimal) Append(b []byte) []byte {
	u := d.Unscaled
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendInt(b, u/unit, 10)
	b = append(b, '.')
	frac := u % unit
	var f [Scale]byte
	for k := Scale - 1; k >= 0; k-- {
		f[k] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, f[:]...)
}

// Compact formats d without trailing fractional zeros: "19.99", "5".
func (d Decimal) Compact() string {
	s := d.String()
	k := len(s)
	for s[k-1] == '0' {
		k--
	}
	if s[k-1] == '.' {
		k--
	}
	return s[:k]
}

// Add returns d+e, or ErrRange.
func (d Decimal) Add(e Decimal) (Decimal, error) {
	s := d.Unscaled + e.Unscaled
	if s > max || s < -max {
		return Decimal{}, ErrRange
	}
	return Decimal{s}, nil
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{-d.Unscaled} }

// Cmp compares d and e: -1, 0 or +1.
func (d Decimal) Cmp(e Decimal) int {
	switch {
	case d.Unscaled < e.Unscaled:
		return -1
	case d.Unscaled > e.Unscaled:
		return 1
	}
	return 0
}

// Sign is -1, 0 or +1.
func (d Decimal) Sign() int { return d.Cmp(Zero) }

// Mul returns d×e rounded half to even to six fractional digits.
func (d Decimal) Mul(e Decimal) (Decimal, bool, error) {
	// Multiply exactly through text to stay simple and exact.
	p := mulText(d, e)
	return Parse(p, '.')
}

func mulText(d, e Decimal) string {
	neg := (d.Unscaled < 0) != (e.Unscaled < 0)
	a, b := abs(d.Unscaled), abs(e.Unscaled)
	// 128-bit product of two values < 10^18.
	hi, lo := mul64(a, b)
	s := u128String(hi, lo) // value scaled by 10^12
	for len(s) <= 2*Scale {
		s = "0" + s
	}
	out := s[:len(s)-2*Scale] + "." + s[len(s)-2*Scale:]
	if neg {
		out = "-" + out
	}
	return out
}

func abs(n int64) uint64 {
	if n < 0 {
		return uint64(-n)
	}
	return uint64(n)
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += a0 * b1
	hi = a1*b1 + w2 + w1>>32
	lo = a * b
	return
}

func u128String(hi, lo uint64) string {
	if hi == 0 {
		return strconv.FormatUint(lo, 10)
	}
	var digits []byte
	for hi != 0 || lo != 0 {
		// divide (hi,lo) by 10
		q1 := hi / 10
		r := hi % 10
		// (r<<64 + lo) / 10
		q0, r0 := div128by10(r, lo)
		hi, lo = q1, q0
		digits = append(digits, byte('0'+r0))
	}
	for i, j := 0, len(digits)-1; i < j; i, j = i+1, j-1 {
		digits[i], digits[j] = digits[j], digits[i]
	}
	return string(digits)
}

// div128by10 divides r·2^64+lo (r < 10) by 10.
func div128by10(r, lo uint64) (q, rem uint64) {
	// Long division in 32-bit halves.
	const base = 1 << 32
	x := r<<32 | lo>>32
	q1 := x / 10
	r1 := x % 10
	y := r1<<32 | lo&(base-1)
	q0 := y / 10
	return q1<<32 | q0, y % 10
}

// MustParse parses s or panics; for tests and constants.
func MustParse(s string) Decimal {
	d, _, err := Parse(s, '.')
	if err != nil {
		panic(fmt.Sprintf("decimal: %q: %v", s, err))
	}
	return d
}
