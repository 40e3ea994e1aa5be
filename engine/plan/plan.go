// Package plan cuts a date range into the windows a network's API
// accepts and renders the window variables its request templates read.
// It does no I/O.
package plan

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/afflake/afflake/engine/spec"
)

// Window is a half-open time range [Start, End), in UTC.
type Window struct{ Start, End time.Time }

// String returns "start..end" with the end exclusive: dates alone when
// both edges are UTC midnights ("2026-10-01..2026-10-31"), RFC 3339
// times otherwise.
func (w Window) String() string {
	if midnight(w.Start) && midnight(w.End) {
		return w.Start.UTC().Format(time.DateOnly) + ".." + w.End.UTC().Format(time.DateOnly)
	}
	return w.Start.UTC().Format(time.RFC3339) + ".." + w.End.UTC().Format(time.RFC3339)
}

func midnight(t time.Time) bool {
	u := t.UTC()
	return u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
}

// ErrSpan reports a spec whose max_span cannot cut a range: zero, or
// shorter than the truncation unit.
var ErrSpan = errors.New("bad window span")

// Windows cuts [from, to) into consecutive windows of at most
// sp.MaxSpan. With window.truncate "day" or "hour" the range is first
// widened to whole days or hours of sp.WindowZone (from rounded down, to
// rounded up) and every edge falls on such a boundary; days are calendar
// days of the zone, so a window across a daylight-saving change spans the
// same number of days and not of hours. An empty range yields no
// windows.
func Windows(sp *spec.Spec, from, to time.Time) ([]Window, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("%s: window range ends (%s) before it starts (%s)", sp.Name, to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	if sp.MaxSpan <= 0 {
		return nil, fmt.Errorf("%s: window.max_span %q: %w", sp.Name, sp.Network.Window.MaxSpan, ErrSpan)
	}
	zone := sp.WindowZone
	if zone == nil {
		zone = time.UTC
	}
	trunc := sp.Network.Window.Truncate
	var step func(time.Time) time.Time
	switch trunc {
	case "day":
		days := int(sp.MaxSpan / (24 * time.Hour))
		if days < 1 {
			return nil, fmt.Errorf("%s: window.max_span %q is shorter than a day, window.truncate is day: %w", sp.Name, sp.Network.Window.MaxSpan, ErrSpan)
		}
		from, to = floorDay(from, zone), ceilDay(to, zone)
		step = func(t time.Time) time.Time {
			l := t.In(zone)
			return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, zone)
		}
	case "hour":
		span := sp.MaxSpan.Truncate(time.Hour)
		if span < time.Hour {
			return nil, fmt.Errorf("%s: window.max_span %q is shorter than an hour, window.truncate is hour: %w", sp.Name, sp.Network.Window.MaxSpan, ErrSpan)
		}
		from, to = floorHour(from, zone), ceilHour(to, zone)
		step = func(t time.Time) time.Time { return t.Add(span) }
	case "", "none":
		step = func(t time.Time) time.Time { return t.Add(sp.MaxSpan) }
	default:
		return nil, fmt.Errorf("%s: window.truncate %q: want none, day or hour", sp.Name, trunc)
	}
	var out []Window
	for start := from; start.Before(to); {
		end := step(start)
		if end.After(to) {
			end = to
		}
		out = append(out, Window{Start: start.UTC(), End: end.UTC()})
		start = end
	}
	return out, nil
}

func floorDay(t time.Time, zone *time.Location) time.Time {
	l := t.In(zone)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, zone)
}

func ceilDay(t time.Time, zone *time.Location) time.Time {
	f := floorDay(t, zone)
	if f.Equal(t) {
		return f
	}
	l := t.In(zone)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, zone)
}

// floorHour rounds down to the zone's whole hour; zones with a
// sub-hour offset (Asia/Kolkata) are honoured.
func floorHour(t time.Time, zone *time.Location) time.Time {
	l := t.In(zone)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, zone)
}

func ceilHour(t time.Time, zone *time.Location) time.Time {
	f := floorHour(t, zone)
	if !f.Before(t) {
		return f
	}
	return f.Add(time.Hour)
}

// WindowVars returns the CEL variable window for w: start and end as
// timestamps, from and to as text in window.format ("rfc3339", "date",
// "unix", "unix_ms" or a Go layout), expressed in sp.WindowZone. With
// window.end_inclusive, to is the end minus one second, or minus one day
// when the format shows dates only.
func WindowVars(sp *spec.Spec, w Window) map[string]any {
	zone := sp.WindowZone
	if zone == nil {
		zone = time.UTC
	}
	format := sp.Network.Window.Format
	to := w.End
	if sp.Network.Window.EndInclusive {
		if dateOnly(format) {
			l := w.End.In(zone)
			to = time.Date(l.Year(), l.Month(), l.Day()-1, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), zone)
		} else {
			to = w.End.Add(-time.Second)
		}
	}
	return map[string]any{
		"start": w.Start.UTC(),
		"end":   w.End.UTC(),
		"from":  Format(w.Start, format, zone),
		"to":    Format(to, format, zone),
	}
}

// Format renders t in zone per a window.format value.
func Format(t time.Time, format string, zone *time.Location) string {
	switch format {
	case "", "rfc3339":
		return t.In(zone).Format(time.RFC3339)
	case "date":
		return t.In(zone).Format(time.DateOnly)
	case "unix":
		return strconv.FormatInt(t.Unix(), 10)
	case "unix_ms":
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return t.In(zone).Format(format)
}

// dateOnly reports whether format shows no time of day.
func dateOnly(format string) bool {
	switch format {
	case "date":
		return true
	case "", "rfc3339", "unix", "unix_ms":
		return false
	}
	a := time.Date(2001, 2, 3, 4, 5, 6, 7_000_000, time.UTC)
	b := time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)
	return a.Format(format) == b.Format(format)
}
