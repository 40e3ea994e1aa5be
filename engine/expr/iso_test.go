package expr

import (
	"testing"
	"time"
)

func TestParseISO(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct{ in, want string }{
		{"2026-10-05T14:22:11", "2026-10-05T13:22:11Z"},
		{"2026-01-05T14:22:11", "2026-01-05T14:22:11Z"},
		{"2026-10-05 14:22:11.123456", "2026-10-05T13:22:11.123456Z"},
		{"2026-10-05T14:22:11Z", "2026-10-05T14:22:11Z"},
		{"2026-10-05T14:22:11-07:00", "2026-10-05T21:22:11Z"},
		{"2026-10-05T14:22:11+0530", "2026-10-05T08:52:11Z"},
		{"2026-10-05T14:22:11.5+02", "2026-10-05T12:22:11.5Z"},
		{"2026-10-05T14:22", "2026-10-05T13:22:00Z"},
		{"2026-10-05", "2026-10-04T23:00:00Z"},
		{"2026-02-30", "error"},
		{"2026-13-01", "error"},
		{"2026-10-05T14:22:11+7", "error"},
		{"2026-10-05X14:22:11", "error"},
		{"05/10/2026", "error"},
		{"", "error"},
	}
	for _, tt := range tests {
		got := "error"
		if ts, err := ParseTime(tt.in, "", london); err == nil {
			got = ts.UTC().Format(time.RFC3339Nano)
		}
		if got != tt.want {
			t.Errorf("ParseTime(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzParseISO checks the fast reader against the standard library's
// layouts: whatever both accept must be the same instant.
func FuzzParseISO(f *testing.F) {
	for _, s := range []string{"2026-10-05T14:22:11", "2026-10-05T14:22:11-07:00", "2026-10-05 14:22:11.123", "2026-10-05", "2026-10-05T14:22:11Z", "2017-02-20T22:04:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseISO(s, time.UTC)
		if !ok {
			return
		}
		for _, l := range isoLayouts {
			if slow, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				if !slow.Equal(fast) {
					t.Fatalf("%q: fast %v, layout %q %v", s, fast, l, slow)
				}
				return
			}
		}
	})
}

func TestNoTime(t *testing.T) {
	for s, want := range map[string]bool{
		"":                          true,
		"0000-00-00":                true,
		"0000-00-00 00:00:00":       true,
		"0000-00-00T00:00:00.000Z":  true,
		"0000-00-00T00:00:00+00:00": true,
		"00/00/0000":                true,
		"0":                         false, // the Unix epoch, not a zero date
		"2026-10-05":                false,
		"0000-00-01 00:00:00":       false,
		"--":                        false,
		"yesterday":                 false,
	} {
		if got := NoTime(s); got != want {
			t.Errorf("NoTime(%q) = %v, want %v", s, got, want)
		}
	}
}
