package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"afflake": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: each gets a copy
// of the repository's cue.mod, schemas, specs and testdata in $WORK.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       os.Getenv("AFFLAKE_UPDATE") != "",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			for _, d := range []string{"cue.mod", "schemas", "specs", "testdata"} {
				if err := os.CopyFS(filepath.Join(env.WorkDir, d), os.DirFS(filepath.Join(root, d))); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
