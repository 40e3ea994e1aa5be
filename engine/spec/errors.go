package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Error is a problem in a spec, at a position in its file.
type Error struct {
	File      string // path as given to Load, relative where possible
	abs       string // the file's absolute path, to quote its source
	Line, Col int    // 1-based; 0 when unknown
	Path      string // e.g. networks.<name>.transaction.sale_amount
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a set of specs.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Sort orders errors by file, line and column, and drops repeats.
func (es Errors) Sort() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := es[:0]
	seen := map[string]bool{}
	for _, e := range es {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// Pretty formats an error with the source line and a caret under its
// column, the way compilers do.
func (e *Error) Pretty() string {
	s := e.Error()
	if e.File == "" || e.Line <= 0 {
		return s
	}
	file := e.abs
	if file == "" {
		file = e.File
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return s
	}
	lines := strings.Split(string(src), "\n")
	if e.Line > len(lines) {
		return s
	}
	line := lines[e.Line-1]
	var caret strings.Builder
	for i, r := range line {
		if i >= e.Col-1 {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	return fmt.Sprintf("%s\n    %s\n    %s^", s, line, caret.String())
}

func relPath(root, file string) string {
	if file == "" {
		return ""
	}
	wd, err := os.Getwd()
	if err == nil {
		if r, err := filepath.Rel(wd, file); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	if r, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return file
}
