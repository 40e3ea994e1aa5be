package expr

import (
	"errors"
	"fmt"
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
