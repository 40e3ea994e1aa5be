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

// TestLoadNetworks loads some networks alone: just those, the same specs
// as a load of the whole directory, with a shared file of definitions.
func TestLoadNetworks(t *testing.T) {
	dir := filepath.Join("..", "..", "specs")
	all, errs := Load(dir)
	if len(errs) > 0 {
		t.Fatal(errs[0].Pretty())
	}
	some, errs := LoadNetworks(dir, "cj", "awin")
	if len(errs) > 0 {
		t.Fatal(errs[0].Pretty())
	}
	if got := strings.Join(some.Names(), ","); got != "awin,cj" {
		t.Fatalf("loaded %s, want awin,cj", got)
	}
	for _, n := range some.Names() {
		a, b := all.Specs[n], some.Specs[n]
		if a.Hash != b.Hash || a.File != b.File || len(a.Cols) != len(b.Cols) {
			t.Errorf("%s: alone %s %s %d columns, with the others %s %s %d", n, b.Hash, b.File, len(b.Cols), a.Hash, a.File, len(a.Cols))
		}
	}

	// A name without a file of its own loads the whole directory.
	set, _ := LoadNetworks(dir, "nosuch")
	if len(set.Specs) != len(all.Specs) {
		t.Errorf("unknown name: loaded %d specs, want all %d", len(set.Specs), len(all.Specs))
	}

	// testdata/bad: each spec unifies with base.cue's #T, which must be
	// loaded with it; only the named spec's errors are reported.
	_, errs = LoadNetworks(filepath.Join("testdata", "bad"), "badcsv")
	if len(errs) == 0 {
		t.Fatal("badcsv: no error")
	}
	for _, e := range errs {
		if !strings.HasSuffix(e.File, "badcsv.cue") || strings.Contains(e.Msg, "#T") {
			t.Errorf("badcsv alone: %s", e.Pretty())
		}
	}
}
