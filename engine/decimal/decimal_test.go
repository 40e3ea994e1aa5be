package decimal

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		sep     byte
		want    string
		rounded bool
		err     error
	}{
		{"19.99", '.', "19.990000", false, nil},
		{"0.1", '.', "0.100000", false, nil},
		{"248.71766639999998", '.', "248.717666", true, nil},
		{"0.0000005", '.', "0.000000", true, nil}, // tie, even stays
		{"0.0000015", '.', "0.000002", true, nil}, // tie, odd rounds up
		{"0.00000150001", '.', "0.000002", true, nil},
		{"0.0000025", '.', "0.000002", true, nil},
		{"-0.0000025", '.', "-0.000002", true, nil},
		{"-5.5", '.', "-5.500000", false, nil},
		{"+7", '.', "7.000000", false, nil},
		{" 42 ", '.', "42.000000", false, nil},
		{"1e3", '.', "1000.000000", false, nil},
		{"1.5E-2", '.', "0.015000", false, nil},
		{"12,50", ',', "12.500000", false, nil},
		{"999999999999.999999", '.', "999999999999.999999", false, nil},
		{"-999999999999.999999", '.', "-999999999999.999999", false, nil},
		{"999999999999.9999995", '.', "", false, ErrRange},
		{"1000000000000", '.', "", false, ErrRange},
		{"1e15", '.', "", false, ErrRange},
		{"1e-30", '.', "0.000000", true, nil},
		{"000123.4500", '.', "123.450000", false, nil},
		{".5", '.', "0.500000", false, nil},
		{"5.", '.', "5.000000", false, nil},
		{"", '.', "", false, ErrSyntax},
		{"-", '.', "", false, ErrSyntax},
		{"1.2.3", '.', "", false, ErrSyntax},
		{"12,50", '.', "", false, ErrSyntax},
		{"abc", '.', "", false, ErrSyntax},
		{"1e", '.', "", false, ErrSyntax},
		{"NaN", '.', "", false, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, rounded, err := Parse(tt.in, tt.sep)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got := d.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if rounded != tt.rounded {
				t.Errorf("rounded = %v, want %v", rounded, tt.rounded)
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	a, b := MustParse("19.99"), MustParse("0.01")
	if s, _ := a.Add(b); s.String() != "20.000000" {
		t.Errorf("add = %s", s)
	}
	p, r, err := MustParse("1.234567").Mul(MustParse("2.5"))
	if err != nil || p.String() != "3.086418" || !r {
		t.Errorf("mul = %s %v %v, want 3.086418 (3.0864175 rounded half to even) true", p, r, err)
	}
	p, _, _ = MustParse("-999999.5").Mul(MustParse("1000000"))
	if p.String() != "-999999500000.000000" {
		t.Errorf("mul big = %s", p)
	}
	if _, _, err := MustParse("999999999999").Mul(MustParse("10")); !errors.Is(err, ErrRange) {
		t.Errorf("mul overflow err = %v", err)
	}
	if MustParse("19.90").Compact() != "19.9" || MustParse("-3").Compact() != "-3" || Zero.Compact() != "0" {
		t.Errorf("compact: %s %s %s", MustParse("19.90").Compact(), MustParse("-3").Compact(), Zero.Compact())
	}
}

// reference computes the expected result with math/big.
func reference(s string, sep byte) (string, bool, bool) {
	if sep == ',' {
		if strings.Contains(s, ".") {
			return "", false, false
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	t := asciiTrim(s)
	r, ok := new(big.Rat).SetString(t)
	if !ok || t == "" || strings.ContainsAny(t, "/xXpP_") || strings.Contains(strings.ToLower(t), "inf") || strings.Contains(strings.ToLower(t), "nan") {
		return "", false, false
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt64(unit))
	// round half to even
	num, den := scaled.Num(), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	rounded := m.Sign() != 0
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	switch c := twice.Cmp(den); {
	case c > 0 || (c == 0 && q.Bit(0) == 1):
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if q.CmpAbs(big.NewInt(max)) > 0 {
		return "range", rounded, true
	}
	return Decimal{q.Int64()}.String(), rounded, true
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"19.99", "0.1", "248.71766639999998", "12,50", "-0.0000025", "1e3", "4.26", "120.00", "999999999999.999999", "1.5E-2", " 7 "} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, dot bool) {
		sep := byte('.')
		if !dot {
			sep = ','
		}
		d, rounded, err := Parse(s, sep)
		want, wantRounded, ok := reference(s, sep)
		if err != nil {
			if ok && want != "range" && !strings.ContainsAny(s, "eE") && errors.Is(err, ErrSyntax) {
				// big.Rat accepts forms we refuse (e.g. leading "0b"); only
				// plain decimal text must parse.
				if plainDecimal(s, sep) {
					t.Fatalf("Parse(%q) = %v, want %s", s, err, want)
				}
			}
			return
		}
		if !ok {
			if plainDecimal(s, sep) {
				t.Fatalf("Parse(%q) accepted what the reference refuses", s)
			}
			return
		}
		if want == "range" {
			t.Fatalf("Parse(%q) = %s, want a range error", s, d)
		}
		if d.String() != want || rounded != wantRounded {
			t.Fatalf("Parse(%q) = %s %v, want %s %v", s, d, rounded, want, wantRounded)
		}
		// The text form parses back to the same value.
		back, r2, err := Parse(d.String(), '.')
		if err != nil || back != d || r2 {
			t.Fatalf("round trip of %s: %s %v %v", d, back, r2, err)
		}
	})
}

func plainDecimal(s string, sep byte) bool {
	t := asciiTrim(s)
	t = strings.TrimLeft(t, "+-")
	if t == "" || len(t) > 40 {
		return false
	}
	seps, digits := 0, 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == sep:
			seps++
		default:
			return false
		}
	}
	return digits > 0 && seps <= 1 && !strings.HasPrefix(asciiTrim(s), "+-") && !strings.HasPrefix(asciiTrim(s), "-+")
}

func asciiTrim(s string) string { return strings.Trim(s, " \t\n\r\v\f") }
