package suggest

import "testing"

func TestClosest(t *testing.T) {
	funcs := []string{"dec", "ts", "country", "currency", "nullIfEmpty", "lookup", "lower"}
	fields := []string{"columns", "tables", "transaction", "pagination", "window", "limits"}
	for _, tt := range []struct {
		word     string
		names    []string
		prefixes bool
		want     string
	}{
		{"contry", funcs, true, "country"},
		{"nullifempty", funcs, true, "nullIfEmpty"},
		{"decimal", funcs, true, "dec"},
		{"decimal", funcs, false, ""},
		{"lookpu", funcs, true, "lookup"},
		{"frobnicate", funcs, true, ""},
		{"colums", fields, false, "columns"},
		{"transactions", fields, false, "transaction"},
		{"paging", fields, false, ""},
		{"rec", []string{"r", "account", "tables"}, true, "r"},
		{"x", []string{"y"}, false, "y"},
		{"dec", funcs, true, ""},
	} {
		if got := Closest(tt.word, tt.names, tt.prefixes); got != tt.want {
			t.Errorf("Closest(%q, prefixes %v) = %q, want %q", tt.word, tt.prefixes, got, tt.want)
		}
	}
}
