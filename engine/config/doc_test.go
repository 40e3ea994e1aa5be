package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/afflake/afflake/engine/config"
)

// docBlocks returns the fenced blocks of docs/config.md by info string
// ("cue afflake.cue", "text errors", …).
func docBlocks(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	var info string
	var body strings.Builder
	in := false
	for _, line := range strings.SplitAfter(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && strings.HasPrefix(trimmed, "```"):
			in, info = true, strings.TrimPrefix(trimmed, "```")
			body.Reset()
		case in && trimmed == "```":
			in = false
			if info != "" {
				blocks[info] = body.String()
			}
		case in:
			body.WriteString(line)
		}
	}
	return blocks
}

// specNames are the networks with a spec in specs/.
func specNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../specs/*.cue")
	if err != nil || len(files) == 0 {
		t.Fatalf("no specs: %v", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		names[strings.TrimSuffix(filepath.Base(f), ".cue")] = true
	}
	return names
}

// The examples of docs/config.md load, and mean what the page says.
func TestDocExamples(t *testing.T) {
	blocks := docBlocks(t)
	specs := specNames(t)
	for _, info := range []string{"cue afflake.cue", "json afflake.json", "cue afflake.cue invalid", "text errors"} {
		if blocks[info] == "" {
			t.Fatalf("docs/config.md has no %q block", info)
		}
	}

	write(t, map[string]string{
		"afflake.cue":         blocks["cue afflake.cue"],
		"afflake.json":        blocks["json afflake.json"],
		"invalid/afflake.cue": blocks["cue afflake.cue invalid"],
	})
	cue, errs := config.Load("afflake.cue")
	if len(errs) > 0 {
		t.Fatalf("the CUE example: %v", errs)
	}
	if errs := cue.Check(specs); len(errs) > 0 {
		t.Errorf("the CUE example names networks without a spec: %v", errs)
	}
	kinds := map[string]bool{}
	for _, accts := range cue.Accounts {
		for _, a := range accts {
			for _, ref := range a.Secrets {
				kinds[ref.Kind()] = true
			}
		}
	}
	if want := map[string]bool{"env": true, "file": true, "aws_secretsmanager": true, "aws_ssm": true, "value": true}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("the CUE example uses sources %v, want every one: %v", kinds, want)
	}

	js, errs := config.Load("afflake.json")
	if len(errs) > 0 {
		t.Fatalf("the JSON example: %v", errs)
	}
	// The JSON example is the first awin account and the impact account.
	want := map[string][]config.Account{"awin": cue.Accounts["awin"][:1], "impact": cue.Accounts["impact"]}
	if !reflect.DeepEqual(js.Accounts, want) || js.Lake != cue.Lake {
		t.Errorf("the JSON example:\ngot  %+v\nwant %+v", js.Accounts, want)
	}

	t.Chdir("invalid")
	_, errs = config.Load("afflake.cue")
	var got strings.Builder
	for _, e := range errs {
		got.WriteString(e.Error() + "\n")
	}
	if got.String() != blocks["text errors"] {
		t.Errorf("the invalid example's errors:\ngot\n%s\nwant\n%s", got.String(), blocks["text errors"])
	}
}
