package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
)

// versions reads every version in transactions/ and fails on a
// transaction state written twice.
func versions(t *testing.T, dir string) map[string][]row.Unified {
	t.Helper()
	out := map[string][]row.Unified{}
	files, _ := filepath.Glob(filepath.Join(dir, "lake", "transactions", "*", "*", "*.parquet"))
	seen := map[string]string{}
	for _, f := range files {
		rows, err := parquet.ReadFile[row.Unified](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range rows {
			k := u.AccountID + "/" + u.TransactionID
			if prev, dup := seen[k+"/"+u.RowHash]; dup {
				t.Errorf("version %s of %s written twice (%s and %s)", u.RowHash, k, prev, filepath.Base(f))
			}
			seen[k+"/"+u.RowHash] = filepath.Base(f)
			out[k] = append(out[k], u)
		}
	}
	return out
}

func currentRows(t *testing.T, dir string) map[string]row.Unified {
	t.Helper()
	out := map[string]row.Unified{}
	files, _ := filepath.Glob(filepath.Join(dir, "lake", "current", "*", "*", "*.parquet"))
	for _, f := range files {
		rows, err := parquet.ReadFile[row.Unified](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range rows {
			k := u.AccountID + "/" + u.TransactionID
			if _, dup := out[k]; dup {
				t.Errorf("current holds %s twice", k)
			}
			out[k] = u
		}
	}
	return out
}

func (e *env) runWith(t *testing.T, accts []Account, runID string, stage func(string) error) (*Manifest, error) {
	t.Helper()
	store, err := storage.Local(filepath.Join(e.dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	client := fetch.New(fetch.Options{HTTP: fetch.LocalOnly()})
	defer client.Close()
	return Run(context.Background(), Options{
		Store: store, Specs: e.specs, Accounts: accts, From: clock.AddDate(0, 0, -35), To: clock, Now: clock,
		RunID: runID, Fetch: client, Workers: 2, Stage: stage,
	})
}

// TestCrashThenRerun stops a run at each stage as a crash would, re-runs
// it, and checks that nothing is lost or written twice.
func TestCrashThenRerun(t *testing.T) {
	for _, stage := range []string{"raw", "parquet", "commit", "manifest"} {
		t.Run(stage, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{})
			accts := e.accounts("awin", "impact")
			boom := errors.New("crash")
			_, err := e.runWith(t, accts, "r1", func(s string) error {
				if s == stage {
					return boom
				}
				return nil
			})
			if err == nil {
				t.Fatalf("the run crashed at %s but reported success", stage)
			}
			if _, err := os.Stat(filepath.Join(e.dir, "lake", "_runs", "r1.json")); err == nil {
				t.Errorf("a crashed run wrote its manifest")
			}
			// A re-run of the same run ID completes.
			m, err := e.runWith(t, accts, "r1", nil)
			if err != nil || m.Failed() {
				t.Fatalf("re-run: %v %+v", err, m)
			}
			vs := versions(t, e.dir)
			cur := currentRows(t, e.dir)
			var rows int64
			for _, n := range m.Networks {
				rows += n.Totals().Rows
			}
			if int64(len(cur)) != rows || len(vs) != len(cur) {
				t.Errorf("%d rows fetched, %d transactions versioned, %d current rows: want all equal", rows, len(vs), len(cur))
			}
			// Another run over unchanged data adds no version.
			m, err = e.runWith(t, accts, "r2", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range m.Networks {
				if n.Versions != 0 {
					t.Errorf("%s: unchanged data gave %d versions", n.Network, n.Versions)
				}
			}
		})
	}
}

// TestLifecycleVersions: advancing the sandbox clock adds versions only
// for transactions whose state changed; current follows.
func TestLifecycleVersions(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	accts := e.accounts("awin")
	if _, err := e.runWith(t, accts, "r1", nil); err != nil {
		t.Fatal(err)
	}
	before := currentRows(t, e.dir)
	e.sb.SetClock(clock.AddDate(0, 0, 7))
	m, err := e.runWith(t, accts, "r2", nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for k, u := range currentRows(t, e.dir) {
		if b, ok := before[k]; ok && b.RowHash != u.RowHash {
			changed++
			if u.RunID != "r2" {
				t.Errorf("%s changed but its current row is from %s", k, u.RunID)
			}
		}
	}
	if changed == 0 || int64(changed) != m.Networks[0].Versions {
		t.Errorf("%d transactions changed, %d versions written", changed, m.Networks[0].Versions)
	}
}

// TestReplayFillsNewColumn: an analyst adds a column to a spec; replay
// fills it for history in tables/ and adds no unified version.
func TestReplayFillsNewColumn(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	m, err := e.runWith(t, e.accounts("awin"), "r1", nil)
	if err != nil || m.Failed() {
		t.Fatal(err, m)
	}
	set, awin, src := specsWithColumn(t)
	store, _ := storage.Local(filepath.Join(e.dir, "lake"))
	rm, err := Replay(context.Background(), ReplayOptions{Store: store, Specs: set.Specs, Networks: []string{"awin"}, RunID: "replay1", Now: clock})
	if err != nil || rm.Failed() {
		t.Fatalf("replay: %v %+v", err, rm)
	}
	if rm.Networks[0].Versions != 0 || rm.Networks[0].Unchanged != m.Networks[0].Totals().Rows {
		t.Errorf("replay: %d versions, %d unchanged; want 0 and %d", rm.Networks[0].Versions, rm.Networks[0].Unchanged, m.Networks[0].Totals().Rows)
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "lake", "tables", "awin", "*", "r1-*.parquet"))
	if len(files) != 1 {
		t.Fatalf("tables files %v, want r1's one file, rewritten in place", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	col, ok := pf.Schema().Lookup("site_name_upper")
	if !ok {
		t.Fatal("replay did not add the new column to history")
	}
	rows := make([]parquet.Row, pf.NumRows())
	r := parquet.NewReader(pf)
	n, _ := r.ReadRows(rows)
	filled := 0
	for _, rw := range rows[:n] {
		v := rw[col.ColumnIndex]
		if !v.IsNull() && strings.ToUpper(v.String()) == v.String() && v.String() != "" {
			filled++
		}
	}
	if filled == 0 || int64(n) != m.Networks[0].Totals().Rows {
		t.Errorf("%d of %d rows have the new column filled", filled, n)
	}
	// A changed unified mapping re-derives versions tagged with the new spec.
	old := []byte(`"lower(coalesce(r.clickDevice, r.transactionDevice))"`)
	if !bytes.Contains(src, old) {
		t.Fatalf("the awin spec has no %s to change", old)
	}
	src = bytes.Replace(src, old, []byte(`"upper(coalesce(r.clickDevice, r.transactionDevice))"`), 1)
	if err := os.WriteFile(awin, src, 0o644); err != nil {
		t.Fatal(err)
	}
	set, errs := spec.Load(filepath.Dir(awin))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rm, err = Replay(context.Background(), ReplayOptions{Store: store, Specs: set.Specs, Networks: []string{"awin"}, RunID: "replay2", Now: clock})
	if err != nil || rm.Networks[0].Versions == 0 {
		t.Fatalf("replay after a mapping change: %v, %d versions", err, rm.Networks[0].Versions)
	}
	for _, u := range currentRows(t, e.dir) {
		if u.Device != nil && *u.Device != strings.ToUpper(*u.Device) {
			t.Errorf("current row %s still has the old mapping: %q", u.TransactionID, *u.Device)
			break
		}
		if u.Device != nil && u.SpecHash != set.Specs["awin"].Hash {
			t.Errorf("current row %s not tagged with the new spec hash", u.TransactionID)
			break
		}
	}
}

// specsWithColumn copies the repository's specs and adds a column to
// Awin's, as an analyst would; it returns the loaded specs, the copy's
// awin.cue and its text.
func specsWithColumn(t *testing.T) (*spec.Set, string, []byte) {
	t.Helper()
	return awinEdited(t, "\tcolumns: {\n", "\tcolumns: {\n\t\tsite_name_upper: {type: \"string\", expr: \"upper(r.siteName)\"}\n")
}

// awinEdited loads a copy of the specs whose awin spec has its first
// from replaced by to, and returns them, the spec's file and its text.
func awinEdited(t *testing.T, from, to string) (*spec.Set, string, []byte) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	for _, d := range []string{"cue.mod", "schemas", "specs"} {
		if err := os.CopyFS(filepath.Join(root, d), os.DirFS(filepath.Join("..", "..", d))); err != nil {
			t.Fatal(err)
		}
	}
	awin := filepath.Join(root, "specs", "awin.cue")
	src, _ := os.ReadFile(awin)
	if !bytes.Contains(src, []byte(from)) {
		t.Fatalf("the awin spec has no %q", from)
	}
	src = bytes.Replace(src, []byte(from), []byte(to), 1)
	if err := os.WriteFile(awin, src, 0o644); err != nil {
		t.Fatal(err)
	}
	set, errs := spec.Load(filepath.Join(root, "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return set, awin, src
}

// TestQuarantineReasons runs and replays awin with a spec whose status
// table lacks pending: the manifests say why its records were
// quarantined, per account, most first.
func TestQuarantineReasons(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	set, _, _ := awinEdited(t, "\t\t\tpending:  \"pending\"\n", "")
	e.specs = set.Specs
	m, err := e.runWith(t, e.accounts("awin"), "r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := storage.Local(filepath.Join(e.dir, "lake"))
	rm, err := Replay(context.Background(), ReplayOptions{Store: store, Specs: set.Specs, Networks: []string{"awin"}, RunID: "replay1", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	const want = `transaction.status: lookup: unknown value "pending" (table has approved, declined, deleted)`
	for _, man := range []*Manifest{m, rm} {
		quarantined := int64(0)
		for _, a := range man.Networks[0].Accounts {
			quarantined += a.Quarantined
			if a.Quarantined == 0 {
				continue
			}
			rs := a.QuarantineReasons
			if len(rs) != 1 || rs[0].Reason != want || rs[0].Records != a.Quarantined {
				t.Errorf("%s account %s: %d quarantined, reasons %+v; want all for %s", man.RunID, a.Account, a.Quarantined, rs, want)
			}
		}
		if quarantined == 0 {
			t.Errorf("%s quarantined nothing", man.RunID)
		}
	}
}

// openCounter counts the objects a store opens as streams.
type openCounter struct {
	storage.Store
	opens atomic.Int64
}

func (o *openCounter) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	o.opens.Add(1)
	return o.Store.Open(ctx, key)
}

// TestReplayStreamsLargeBodies: replay reads a body its meta says is
// large as a stream, from the raw zone's gzipped object, and maps it as
// it maps a body read whole: no new version, every transaction seen.
func TestReplayStreamsLargeBodies(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	m, err := e.runWith(t, e.accounts("awin"), "r1", nil)
	if err != nil || m.Failed() {
		t.Fatal(err, m)
	}
	metas, _ := filepath.Glob(filepath.Join(e.dir, "lake", "raw", "network=awin", "*", "*", "*", "*.meta.json"))
	if len(metas) == 0 {
		t.Fatal("no raw bodies")
	}
	for _, f := range metas {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		meta["bytes"] = 1 << 30
		if b, err = json.Marshal(meta); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	local, _ := storage.Local(filepath.Join(e.dir, "lake"))
	store := &openCounter{Store: local}
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rm, err := Replay(context.Background(), ReplayOptions{Store: store, Specs: set.Specs, Networks: []string{"awin"}, RunID: "replay1", Now: clock})
	if err != nil || rm.Failed() {
		t.Fatalf("replay: %v %+v", err, rm)
	}
	if n := store.opens.Load(); n != int64(2*len(metas)) {
		t.Errorf("%d bodies opened %d times, want each twice (checked, then mapped)", len(metas), n)
	}
	if rm.Networks[0].Versions != 0 || rm.Networks[0].Unchanged != m.Networks[0].Totals().Rows {
		t.Errorf("replay: %d versions, %d unchanged; want 0 and %d", rm.Networks[0].Versions, rm.Networks[0].Unchanged, m.Networks[0].Totals().Rows)
	}
}
