package expr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUndeclaredTables checks that a table the spec does not declare is
// a compile error at its name (columns 0-based, as CEL counts them),
// whether selected or indexed, except in a presence test.
func TestUndeclaredTables(t *testing.T) {
	env, err := NewEnv(RecordScope, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ps := NewPrograms(env, time.UTC)
	ps.Tables = map[string]bool{"status": true, "customer": true}
	for src, want := range map[string]string{
		"lookup(tables.status, r.s)":                      "",
		"lookup(tables['customer'], r.c, null)":           "",
		"has(tables.device) ? tables.device['x'] : 'y'":   "1:28 undeclared table 'device'",
		"lookup(tables.stauts, r.s)":                      "1:14 undeclared table 'stauts'",
		"lookup(tables['custmer'], r.c, 'new')":           "1:14 undeclared table 'custmer'",
		"r.a == 1 ?\n  lookup(tables.x, r.s) : 'pending'": "2:16 undeclared table 'x'",
	} {
		_, err := ps.Add(src)
		var got string
		var ce *CompileError
		switch {
		case err == nil:
		case errors.As(err, &ce) && len(ce.Issues) == 1:
			is := ce.Issues[0]
			got = fmt.Sprintf("%d:%d %s", is.Line, is.Column, is.Message)
			if want != "" {
				want += " (the spec's tables: customer, status)"
			}
		default:
			t.Errorf("%q: %v", src, err)
			continue
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}

// TestSuggestion checks the "did you mean" of an undeclared name: a close
// or longer spelling of a function or variable, nothing for another word.
func TestSuggestion(t *testing.T) {
	env, err := NewEnv(RecordScope, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		"decimal(r.x)":     "undeclared reference to 'decimal' (in container ''); did you mean 'dec'?",
		"contry(r.x)":      "undeclared reference to 'contry' (in container ''); did you mean 'country'?",
		"nullifempty(r.x)": "undeclared reference to 'nullifempty' (in container ''); did you mean 'nullIfEmpty'?",
		"rec.x":            "undeclared reference to 'rec' (in container ''); did you mean 'r'?",
		"frobnicate(r.x)":  "undeclared reference to 'frobnicate' (in container '')",
	} {
		_, err := Compile(env, src)
		var ce *CompileError
		if !errors.As(err, &ce) || len(ce.Issues) != 1 {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := ce.Issues[0].Message; got != want {
			t.Errorf("%s: got %q, want %q", src, got, want)
		}
	}
}

// TestDecOfDouble checks that dec() of a value typed double, and CEL's
// timestamp(), are compile errors at their place, and that dec() of
// text, integers and record fields is not.
func TestDecOfDouble(t *testing.T) {
	env, err := NewEnv(RecordScope, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ps := NewPrograms(env, time.UTC)
	for src, col := range map[string]int{
		"dec('19.99')":          -1,
		"dec(r.amount)":         -1,
		"dec(0) + dec(r.x)":     -1,
		"dec(19.99)":            4,
		"dec(double(r.amount))": 10,
		"dec(r.x) * dec(0.1)":   15,
		"timestamp(r.at)":       9,
	} {
		_, err := ps.Add(src)
		var ce *CompileError
		switch {
		case col < 0 && err != nil:
			t.Errorf("%s: %v", src, err)
		case col >= 0 && (!errors.As(err, &ce) || len(ce.Issues) != 1):
			t.Errorf("%s: got %v, want one error", src, err)
		case col >= 0 && (ce.Issues[0].Column != col || !strings.HasPrefix(ce.Issues[0].Message, "dec() of a double") && !strings.HasPrefix(ce.Issues[0].Message, "timestamp() reads only")):
			t.Errorf("%s: got %d %q, want column %d", src, ce.Issues[0].Column, ce.Issues[0].Message, col)
		}
	}
}

// TestResultsOf checks what an expression is known to give before any
// record is read: the string literals at its result's places (columns
// 0-based) and the tables it returns values of, and nothing of the
// strings and tables it only tests or transforms.
func TestResultsOf(t *testing.T) {
	env, err := NewEnv(RecordScope, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		"'paid'":                          "1:0 paid",
		"r.s":                             "",
		"lower(r.s)":                      "",
		"r.s == 'x' ? 'paid' : 'pending'": "1:13 paid; 1:22 pending",
		"lookup(tables.status, r.s)":      "tables status",
		"r.paid == true ? 'paid' : lookup(tables['st'], lower(r.s), 'pending')":                 "1:17 paid; 1:59 pending; tables st",
		"coalesce(lookup(tables.a, r.x, null), when(r.y == 'z', 'new'), lookup(tables.a, r.z))": "1:55 new; tables a",
		"upper(lookup(tables.a, r.x))": "",
		"lookup(tables.a, 'on_hold')":  "tables a",
	} {
		res, err := ResultsOf(env, src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		var parts []string
		for _, l := range res.Literals {
			parts = append(parts, fmt.Sprintf("%d:%d %s", l.Line, l.Column, l.Value))
		}
		if len(res.Tables) > 0 {
			parts = append(parts, "tables "+strings.Join(res.Tables, " "))
		}
		if got := strings.Join(parts, "; "); got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
}
