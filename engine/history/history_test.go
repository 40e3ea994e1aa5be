package history

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/storage"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func tx(account, id, status string, comm int64) row.Unified {
	u := row.Unified{Network: "net", AccountID: account, TransactionID: id, Status: status, StatusRaw: status,
		SaleAmount: 100_000000, CommissionAmount: comm, Currency: "EUR", TransactionAt: t0.AddDate(0, 0, -3),
		RunID: "x", RawRef: "r#0", SpecHash: "s", FetchedAt: t0}
	u.RowHash = u.Hash()
	return u
}

func commit(t *testing.T, st storage.Store, runID string, mode Mode, rows ...row.Unified) CommitStats {
	t.Helper()
	sp, err := NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Remove()
	if err := sp.WriteUnified(rows); err != nil {
		t.Fatal(err)
	}
	h := Open(st, "net")
	if err := h.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	cs, err := h.Commit(context.Background(), runID, t0, sp, mode)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func current(t *testing.T, st storage.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	keys, _ := st.List(context.Background(), "current/network=net/")
	for _, k := range keys {
		data, err := st.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := readUnified(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range rows {
			if _, dup := out[u.AccountID+"/"+u.TransactionID]; dup {
				t.Errorf("current holds %s twice", u.TransactionID)
			}
			out[u.AccountID+"/"+u.TransactionID] = u.Status
		}
	}
	return out
}

func versionFiles(t *testing.T, st storage.Store) []string {
	keys, _ := st.List(context.Background(), "transactions/")
	sort.Strings(keys)
	return keys
}

func newStore(t testing.TB) storage.Store {
	st, err := storage.Local(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestVersions(t *testing.T) {
	st := newStore(t)
	a, b, c := tx("1", "a", "pending", 5_000000), tx("1", "b", "pending", 7_000000), tx("2", "a", "pending", 1_000000)
	if cs := commit(t, st, "r1", Latest, a, b, c, a); cs.Versions != 3 || cs.Unchanged != 1 {
		t.Errorf("first run: %+v, want 3 versions and the repeat unchanged", cs)
	}
	// The same data again adds nothing.
	if cs := commit(t, st, "r2", Latest, a, b, c); cs.Versions != 0 || cs.Unchanged != 3 {
		t.Errorf("same data: %+v, want no versions", cs)
	}
	// A status change is one new version; current follows it.
	b2 := tx("1", "b", "approved", 7_000000)
	if cs := commit(t, st, "r3", Latest, a, b2, c); cs.Versions != 1 {
		t.Errorf("status change: %+v, want 1 version", cs)
	}
	want := map[string]string{"1/a": "pending", "1/b": "approved", "2/a": "pending"}
	if got := current(t, st); len(got) != 3 || got["1/b"] != "approved" || got["1/a"] != "pending" {
		t.Errorf("current = %v, want %v", got, want)
	}
	// Re-running r3 replaces its own version file and duplicates nothing.
	before := versionFiles(t, st)
	if cs := commit(t, st, "r3", Latest, a, b2, c); cs.Versions != 1 {
		t.Errorf("re-run of r3: %+v, want its 1 version again", cs)
	}
	if after := versionFiles(t, st); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("re-run changed the files: %v → %v", before, after)
	}
	// Replay: a known old state is not a new version.
	if cs := commit(t, st, "replay", Unseen, b, b2); cs.Versions != 0 {
		t.Errorf("replay of known states: %+v, want none", cs)
	}
}

// TestRecover: a commit interrupted after publishing its versions is
// folded into the index by the next run, so nothing is written twice.
func TestRecover(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	a := tx("1", "a", "pending", 5_000000)
	commit(t, st, "r1", Latest, a)
	a2 := tx("1", "a", "approved", 5_000000)
	// r2 crashed after publishing its versions, before the index.
	sink := lake.NewSink(st, "net", "r2", t0, nil, lake.Options{Parts: lake.PartTransactions})
	if err := sink.WriteUnified([]row.Unified{a2}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	h := Open(st, "net")
	if err := st.Put(ctx, h.intentKey("r2"), []byte(`{"run_id":"r2","ingest_date":"2026-11-01","buckets":[0]}`)); err != nil {
		t.Fatal(err)
	}
	// r3 fetches the same approved state: no new version.
	if cs := commit(t, st, "r3", Latest, a2); cs.Versions != 0 {
		t.Errorf("after recovery: %+v, want no versions", cs)
	}
	if got := current(t, st); got["1/a"] != "approved" {
		t.Errorf("current = %v", got)
	}
	if keys, _ := st.List(ctx, "_state/network=net/pending/"); len(keys) != 0 {
		t.Errorf("intents left: %v", keys)
	}
	// An intent whose versions were never published is dropped.
	if err := st.Put(ctx, h.intentKey("r4"), []byte(`{"run_id":"r4","ingest_date":"2026-11-01","buckets":[1]}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.List(ctx, "_state/network=net/pending/"); len(keys) != 0 {
		t.Errorf("intents left: %v", keys)
	}
}

func TestWatermarks(t *testing.T) {
	st := newStore(t)
	h := Open(st, "net")
	ctx := context.Background()
	if err := h.SetWatermarks(ctx, map[string]time.Time{"1": t0}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetWatermarks(ctx, map[string]time.Time{"1": t0.Add(-time.Hour), "2": t0}); err != nil {
		t.Fatal(err)
	}
	m, err := h.Watermarks(ctx)
	if err != nil || !m["1"].Equal(t0) || !m["2"].Equal(t0) {
		t.Errorf("watermarks = %v, %v; a watermark never moves back", m, err)
	}
}

func TestLock(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	h := Open(st, "net")
	release, err := h.Lock(ctx, "r1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Lock(ctx, "r2", t0.Add(time.Minute)); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run r1 since 2026-11-01T00:00:00Z") {
		t.Errorf("second run: err = %v, want ErrLocked naming r1", err)
	}
	// A re-run of the same run ID takes its own lock back.
	if rel, err := h.Lock(ctx, "r1", t0.Add(time.Minute)); err != nil {
		t.Errorf("re-run of r1: %v", err)
	} else {
		rel()
	}
	if _, err := h.Lock(ctx, "r2", t0.Add(2*time.Minute)); err != nil {
		t.Errorf("after release: %v", err)
	}
	// A crashed run's lock is taken over once stale.
	if _, err := h.Lock(ctx, "r3", t0.Add(2*time.Minute+StaleLock)); err != nil {
		t.Errorf("stale lock: %v", err)
	}
	release()
}
