package spec

import (
	"os"
	"testing"
)

func TestLoadRepoSpecs(t *testing.T) {
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	set, errs := Load("specs")
	for _, e := range errs {
		t.Error(e.Pretty())
	}
	if set == nil || len(set.Specs) == 0 {
		t.Fatal("no specs loaded")
	}
}
