// Package duckdb lets tests read the lake's files with DuckDB, an
// independent Parquet reader, through the npm package in
// engine/lake/testdata/duckdb (install it with
// `npm ci --prefix engine/lake/testdata/duckdb`).
package duckdb

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Require, when set in the environment, turns a missing DuckDB from a
// skip into a failure (CI installs it).
const Require = "AFFLAKE_REQUIRE_DUCKDB"

// Result is what DuckDB saw: each view's column types and each query's
// rows, every value as text so that decimals stay exact.
type Result struct {
	Version  string                         `json:"version"`
	Describe map[string][][2]string         `json:"describe"`
	Queries  map[string][]map[string]string `json:"queries"`
}

func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "duckdb")
}

// Run reads files (view name → path or glob) with DuckDB and runs queries
// (name → SQL, columns cast to VARCHAR). It skips the test when DuckDB is
// not installed, unless Require is set.
func Run(t testing.TB, files, queries map[string]string) Result {
	t.Helper()
	d := dir()
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node (Node.js 20 or later) is not installed"
	default:
		if _, err := os.Stat(filepath.Join(d, "node_modules", "@duckdb", "node-api")); err != nil {
			missing = "@duckdb/node-api is not installed"
		}
	}
	if missing != "" {
		msg := "no DuckDB: " + missing + "; install it with `npm ci --prefix engine/lake/testdata/duckdb`"
		if os.Getenv(Require) != "" {
			t.Fatal(msg + " (" + Require + " is set, so this fails)")
		}
		t.Skip("SKIP DuckDB check, " + msg)
	}
	arg, _ := json.Marshal(map[string]any{"files": files, "queries": queries})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs", string(arg))
	cmd.Dir = d
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("DuckDB check failed: %v\n%s", err, stderr)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("DuckDB check output: %v\n%s", err, out)
	}
	t.Logf("DuckDB %s", res.Version)
	return res
}
