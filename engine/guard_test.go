// Package engine_test holds checks that span the engine's packages.
package engine_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoNetworkNames fails when an engine package's Go code (tests
// aside) names a network that has a spec: the engine is generic, and a
// network that needs something new gets a spec-language feature.
func TestNoNetworkNames(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("..", "specs", "*.cue"))
	if err != nil || len(specs) < 3 {
		t.Fatalf("specs: %v (%d files)", err, len(specs))
	}
	var names []string
	for _, s := range specs {
		name := strings.TrimSuffix(filepath.Base(s), ".cue")
		names = append(names, regexp.QuoteMeta(name))
		// Also the name as people write it: "commission factory", "ebay partner network".
		if strings.Contains(name, "_") {
			names = append(names, strings.ReplaceAll(regexp.QuoteMeta(name), "_", `[ _-]?`))
		}
	}
	re := regexp.MustCompile(`(?i)\b(` + strings.Join(names, "|") + `)\b`)
	checked := 0
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if m := re.FindString(line); m != "" {
				t.Errorf("%s:%d names the network %q: %s", p, i+1, m, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d engine files checked", checked)
	}
}
