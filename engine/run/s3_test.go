package run

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/storage"
	"github.com/afflake/afflake/engine/storage/s3test"
)

// s3Rows reads every Parquet object under prefix.
func s3Rows(t *testing.T, st storage.Store, prefix string) []row.Unified {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []row.Unified
	for _, k := range keys {
		if !strings.HasSuffix(k, ".parquet") {
			continue
		}
		data, err := st.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parquet.Read[row.Unified](bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out = append(out, rows...)
	}
	return out
}

// TestS3Lake runs the lake's life on a real S3-protocol server: versions,
// no versions for unchanged data, only the changed transactions a week
// later, one current row per transaction, replay filling a new column,
// and the server stopping in the middle of a run.
func TestS3Lake(t *testing.T) {
	srv := s3test.Lake(t, "lake")
	ctx := context.Background()
	st, err := storage.Open("s3://lake/x")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sandbox.Options{})
	accts := e.accounts("awin", "impact", "cj")
	runOn := func(runID string, stage func(string) error) (*Manifest, error) {
		client := fetch.New(fetch.Options{HTTP: fetch.LocalOnly()})
		defer client.Close()
		return Run(ctx, Options{Store: st, Specs: e.specs, Accounts: accts, From: clock.AddDate(0, 0, -35), To: clock,
			Now: clock, RunID: runID, Fetch: client, Workers: 2, Stage: stage})
	}
	versionsOf := func(m *Manifest) (v, rows int64) {
		for _, n := range m.Networks {
			v += n.Versions
			rows += n.Totals().Rows
		}
		return
	}
	m, err := runOn("r1", nil)
	if err != nil || m.Failed() {
		t.Fatalf("r1: %v %+v", err, m)
	}
	v1, rows := versionsOf(m)
	if v1 == 0 || v1 != rows {
		t.Errorf("first run: %d versions of %d rows", v1, rows)
	}
	m, err = runOn("r2", nil)
	if v, _ := versionsOf(m); err != nil || v != 0 {
		t.Errorf("same data again: %d versions, %v", v, err)
	}
	before := map[string]string{}
	for _, u := range s3Rows(t, st, "current/") {
		before[u.Network+"/"+u.AccountID+"/"+u.TransactionID] = u.RowHash
	}

	// A week later the server stops while the run commits; the run fails
	// naming the object, and the next run completes the history.
	e.sb.SetClock(clock.AddDate(0, 0, 7))
	_, err = runOn("r3", func(stage string) error {
		if stage == "commit" {
			srv.Kill()
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "s3://lake/x/") {
		t.Errorf("run with the server stopped: err = %v, want one naming the object", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Another run is refused while r3's lock is fresh (r3 might still be
	// running); r3 re-run completes its work.
	if m, err := runOn("r4", nil); err != nil || !strings.Contains(strings.Join(m.Networks[0].Totals().Errors, " "), "another run is writing this network: run r3") {
		t.Errorf("a run while r3 holds the lock: %v, %+v", err, m)
	}
	m, err = runOn("r3", nil)
	if err != nil || m.Failed() {
		t.Fatalf("r3 again after the restart: %v %+v", err, m)
	}
	cur := s3Rows(t, st, "current/")
	changed := 0
	seen := map[string]bool{}
	for _, u := range cur {
		k := u.Network + "/" + u.AccountID + "/" + u.TransactionID
		if seen[k] {
			t.Errorf("current holds %s twice", k)
		}
		seen[k] = true
		if h, ok := before[k]; ok && h != u.RowHash {
			changed++
		}
	}
	all := s3Rows(t, st, "transactions/")
	dup := map[string]bool{}
	for _, u := range all {
		k := u.Network + "/" + u.AccountID + "/" + u.TransactionID + "/" + u.RowHash
		if dup[k] {
			t.Errorf("version %s written twice", k)
		}
		dup[k] = true
	}
	newTx := len(cur) - len(before)
	if changed == 0 || int64(len(all)) != v1+int64(changed+newTx) {
		t.Errorf("%d versions in the lake, want %d first + %d changed + %d new", len(all), v1, changed, newTx)
	}

	// Replay with a new column fills history in tables/.
	set, _, _ := specsWithColumn(t)
	rm, err := Replay(ctx, ReplayOptions{Store: st, Specs: set.Specs, Networks: []string{"awin"}, RunID: "replay1", Now: clock})
	if err != nil || rm.Failed() || rm.Networks[0].Versions != 0 {
		t.Fatalf("replay: %v %+v", err, rm)
	}
	keys, _ := st.List(ctx, "tables/awin/")
	for _, k := range keys {
		data, err := st.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Schema().Lookup("site_name_upper"); !ok {
			t.Errorf("%s has no site_name_upper after the replay", k)
		}
	}
	if len(keys) < 3 {
		t.Errorf("tables/awin holds %v", keys)
	}
}
