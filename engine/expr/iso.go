package expr

import "time"

// parseISO reads the common ISO 8601 forms without trying layouts one
// by one: YYYY-MM-DD, then optionally [T ]hh:mm[:ss[.fraction]], then
// optionally Z or ±hh:mm / ±hhmm / ±hh. A time without an offset is in
// loc. ok is false for anything else (the caller then tries layouts).
func parseISO(s string, loc *time.Location) (t time.Time, ok bool) {
	n := len(s)
	if n < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	var hour, min, sec, nsec int
	i := 10
	if i < n && (s[i] == 'T' || s[i] == ' ') {
		if n < i+6 || s[i+3] != ':' {
			return time.Time{}, false
		}
		var okh, okm bool
		hour, okh = digits(s, i+1, 2)
		min, okm = digits(s, i+4, 2)
		if !okh || !okm {
			return time.Time{}, false
		}
		i += 6
		if i < n && s[i] == ':' {
			var oks bool
			if sec, oks = digits(s, i+1, 2); !oks {
				return time.Time{}, false
			}
			i += 3
			if i < n && (s[i] == '.' || s[i] == ',') {
				i++
				start := i
				scale := 100000000
				for i < n && s[i] >= '0' && s[i] <= '9' {
					nsec += int(s[i]-'0') * scale
					scale /= 10
					i++
				}
				if i == start {
					return time.Time{}, false
				}
			}
		}
	}
	zone := loc
	if i < n {
		switch s[i] {
		case 'Z', 'z':
			if i+1 != n {
				return time.Time{}, false
			}
			zone = time.UTC
		case '+', '-':
			sign := 1
			if s[i] == '-' {
				sign = -1
			}
			rest := s[i+1:]
			var oh, om int
			var okh, okm bool
			switch len(rest) {
			case 2:
				oh, okh = digits(rest, 0, 2)
				okm = true
			case 4:
				oh, okh = digits(rest, 0, 2)
				om, okm = digits(rest, 2, 2)
			case 5:
				if rest[2] != ':' {
					return time.Time{}, false
				}
				oh, okh = digits(rest, 0, 2)
				om, okm = digits(rest, 3, 2)
			}
			if !okh || !okm {
				return time.Time{}, false
			}
			zone = time.FixedZone("", sign*(oh*3600+om*60))
		default:
			return time.Time{}, false
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || min > 59 || sec > 60 {
		return time.Time{}, false
	}
	t = time.Date(year, time.Month(month), day, hour, min, sec, nsec, zone)
	if t.Day() != day {
		return time.Time{}, false // e.g. 2026-02-30
	}
	return t, true
}

func digits(s string, at, n int) (int, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v := 0
	for k := at; k < at+n; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
