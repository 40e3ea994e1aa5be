// Package suggest finds the name a misspelt one was meant to be, for
// "did you mean" hints in errors.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns the name of names closest to word: within an edit
// distance of a third of its length (at least one), ignoring case, or
// else one that word begins with (decimal for dec) when prefixes is set.
// It returns "" when none is close.
func Closest(word string, names []string, prefixes bool) string {
	names = append([]string(nil), names...)
	sort.Strings(names)
	w := strings.ToLower(word)
	best, bestDist := "", 0
	for _, name := range names {
		if name == word {
			continue
		}
		d := distance(w, strings.ToLower(name))
		if d <= max(1, len(word)/3) && (best == "" || d < bestDist) {
			best, bestDist = name, d
		}
	}
	if best != "" || !prefixes {
		return best
	}
	for _, name := range names {
		if name != "" && name != word && strings.HasPrefix(w, strings.ToLower(name)) {
			return name
		}
	}
	return ""
}

// distance is the Levenshtein distance of a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
