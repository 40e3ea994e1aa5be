package plan

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/spec"
)

func testSpec(t *testing.T, maxSpan time.Duration, zone, truncate, format string, endInclusive bool) *spec.Spec {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	sp := &spec.Spec{WindowZone: loc, MaxSpan: maxSpan}
	sp.Name = "test"
	sp.Network.Window = spec.Window{Timezone: zone, Truncate: truncate, Format: format, EndInclusive: endInclusive, MaxSpan: maxSpan.String()}
	return sp
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func win(a, b string) Window { return Window{utc(a), utc(b)} }

const day = 24 * time.Hour

func TestWindows(t *testing.T) {
	tests := []struct {
		name     string
		span     time.Duration
		zone     string
		truncate string
		from, to string
		want     []Window
	}{
		{
			name: "90 days in 31-day windows", span: 31 * day, zone: "UTC", truncate: "none",
			from: "2026-08-03T00:00:00Z", to: "2026-11-01T00:00:00Z",
			want: []Window{
				win("2026-08-03T00:00:00Z", "2026-09-03T00:00:00Z"),
				win("2026-09-03T00:00:00Z", "2026-10-04T00:00:00Z"),
				win("2026-10-04T00:00:00Z", "2026-11-01T00:00:00Z"),
			},
		},
		{
			name: "exact multiple", span: 30 * day, zone: "UTC", truncate: "day",
			from: "2026-08-03T00:00:00Z", to: "2026-11-01T00:00:00Z",
			want: []Window{
				win("2026-08-03T00:00:00Z", "2026-09-02T00:00:00Z"),
				win("2026-09-02T00:00:00Z", "2026-10-02T00:00:00Z"),
				win("2026-10-02T00:00:00Z", "2026-11-01T00:00:00Z"),
			},
		},
		{
			name: "no truncation keeps odd edges", span: 12 * time.Hour, zone: "UTC", truncate: "none",
			from: "2026-10-01T13:45:10Z", to: "2026-10-02T05:00:00Z",
			want: []Window{
				win("2026-10-01T13:45:10Z", "2026-10-02T01:45:10Z"),
				win("2026-10-02T01:45:10Z", "2026-10-02T05:00:00Z"),
			},
		},
		{
			name: "day truncation widens to whole days", span: 31 * day, zone: "UTC", truncate: "day",
			from: "2026-10-01T13:45:00Z", to: "2026-10-03T01:00:00Z",
			want: []Window{win("2026-10-01T00:00:00Z", "2026-10-04T00:00:00Z")},
		},
		{
			name: "hour truncation", span: 12*time.Hour + 30*time.Minute, zone: "UTC", truncate: "hour",
			from: "2026-10-01T13:45:00Z", to: "2026-10-02T05:00:00Z",
			want: []Window{
				win("2026-10-01T13:00:00Z", "2026-10-02T01:00:00Z"),
				win("2026-10-02T01:00:00Z", "2026-10-02T05:00:00Z"),
			},
		},
		{
			// London days: midnight is 23:00Z in summer time; the window
			// across the change back to GMT (2026-10-25) is 31 calendar
			// days, 745 hours.
			name: "day truncation in Europe/London across DST", span: 31 * day, zone: "Europe/London", truncate: "day",
			from: "2026-09-15T12:00:00Z", to: "2026-11-20T12:00:00Z",
			want: []Window{
				win("2026-09-14T23:00:00Z", "2026-10-15T23:00:00Z"),
				win("2026-10-15T23:00:00Z", "2026-11-16T00:00:00Z"),
				win("2026-11-16T00:00:00Z", "2026-11-21T00:00:00Z"),
			},
		},
		{
			name: "empty range", span: 31 * day, zone: "UTC", truncate: "none",
			from: "2026-10-01T00:00:00Z", to: "2026-10-01T00:00:00Z",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := testSpec(t, tt.span, tt.zone, tt.truncate, "rfc3339", false)
			got, err := Windows(sp, utc(tt.from), utc(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].Start.Equal(got[i-1].End) {
					t.Errorf("window %d starts at %v, previous ends at %v", i, got[i].Start, got[i-1].End)
				}
			}
		})
	}
}

func TestWindowsErrors(t *testing.T) {
	from, to := utc("2026-10-01T00:00:00Z"), utc("2026-11-01T00:00:00Z")
	if _, err := Windows(testSpec(t, 31*day, "UTC", "none", "", false), to, from); err == nil {
		t.Error("reversed range: got no error")
	}
	if _, err := Windows(testSpec(t, 0, "UTC", "none", "", false), from, to); !errors.Is(err, ErrSpan) {
		t.Errorf("zero span: got %v, want ErrSpan", err)
	}
	if _, err := Windows(testSpec(t, 12*time.Hour, "UTC", "day", "", false), from, to); !errors.Is(err, ErrSpan) {
		t.Errorf("12h span with day truncation: got %v, want ErrSpan", err)
	}
}

func TestWindowVars(t *testing.T) {
	w := win("2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z")
	tests := []struct {
		name      string
		zone      string
		format    string
		inclusive bool
		w         Window
		from, to  string
	}{
		{"rfc3339 UTC", "UTC", "rfc3339", false, w, "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"},
		{"rfc3339 London", "Europe/London", "rfc3339", false, w, "2026-10-01T01:00:00+01:00", "2026-10-31T00:00:00Z"},
		{"layout London", "Europe/London", "2006-01-02T15:04:05", false, w, "2026-10-01T01:00:00", "2026-10-31T00:00:00"},
		{"layout London inclusive", "Europe/London", "2006-01-02T15:04:05", true, w, "2026-10-01T01:00:00", "2026-10-30T23:59:59"},
		{"layout US/Eastern", "America/New_York", "2006-01-02 15:04:05", false, w, "2026-09-30 20:00:00", "2026-10-30 20:00:00"},
		{"date", "UTC", "date", false, w, "2026-10-01", "2026-10-31"},
		{"date inclusive", "UTC", "date", true, w, "2026-10-01", "2026-10-30"},
		{"date layout inclusive", "UTC", "02/01/2006", true, w, "01/10/2026", "30/10/2026"},
		{"unix", "UTC", "unix", false, w, "1790812800", "1793404800"},
		{"unix inclusive", "UTC", "unix", true, w, "1790812800", "1793404799"},
		{"unix_ms", "Europe/London", "unix_ms", false, w, "1790812800000", "1793404800000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := testSpec(t, 31*day, tt.zone, "none", tt.format, tt.inclusive)
			got := WindowVars(sp, tt.w)
			want := map[string]any{"start": tt.w.Start, "end": tt.w.End, "from": tt.from, "to": tt.to}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestWindowString(t *testing.T) {
	tests := []struct {
		w    Window
		want string
	}{
		{win("2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"), "2026-10-01..2026-10-31"},
		{win("2026-09-30T23:00:00Z", "2026-10-31T00:00:00Z"), "2026-09-30T23:00:00Z..2026-10-31T00:00:00Z"},
		{Window{utc("2026-10-01T02:00:00+02:00"), utc("2026-10-02T00:00:00Z")}, "2026-10-01..2026-10-02"},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// The repository's specs cut and format as their APIs require.
func TestRepoSpecWindows(t *testing.T) {
	set, errs := spec.Load("../../specs")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sp := set.Specs["awin"]
	if sp == nil {
		t.Fatal("no awin spec")
	}
	ws, err := Windows(sp, utc("2026-08-03T00:00:00Z"), utc("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.End.Sub(w.Start) > sp.MaxSpan {
			t.Errorf("window %v is longer than %v", w, sp.MaxSpan)
		}
	}
	// Awin's endDate is inclusive: the window ends a second before the
	// next one starts.
	got := WindowVars(sp, ws[0])
	if got["from"] != "2026-08-03T00:00:00" || got["to"] != "2026-09-02T23:59:59" {
		t.Errorf("got from %v to %v, want 2026-08-03T00:00:00 and 2026-09-02T23:59:59", got["from"], got["to"])
	}
	if next := WindowVars(sp, ws[1]); next["from"] != "2026-09-03T00:00:00" {
		t.Errorf("second window from %v, want 2026-09-03T00:00:00", next["from"])
	}
}
