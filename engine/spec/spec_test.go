package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRepoSpecs loads the repository's specs: every file loads,
// without an error, under its own name.
func TestLoadRepoSpecs(t *testing.T) {
	dir := filepath.Join("..", "..", "specs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.cue"))
	set, errs := Load(dir)
	for _, e := range errs {
		t.Error(e.Pretty())
	}
	if set == nil || len(set.Specs) != len(files) {
		t.Fatalf("loaded %d specs from %d files", len(set.Specs), len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".cue")
		sp := set.Specs[name]
		if sp == nil || sp.Name != name || filepath.Base(sp.File) != filepath.Base(f) || len(sp.Hash) != 16 {
			t.Errorf("%s: %+v", f, sp)
		}
	}
}
