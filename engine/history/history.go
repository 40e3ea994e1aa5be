// Package history keeps the lake's memory of transactions over time:
// change detection (a fetched transaction becomes a new version only when
// its content hash differs from the latest known one), the current table
// (one row per transaction, its latest version), and the watermarks of
// incremental runs. Everything lives in the lake (_state/ and current/),
// split into buckets so that memory stays bounded however many
// transactions a network has.
//
// A run commits in an order that survives a crash at any point: it
// records its intent, publishes its version files, then rewrites each
// affected bucket of the index and of the current table (each write
// atomic), then drops the intent. The next run first folds any
// interrupted commit's published versions into the index (Recover).
package history

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/storage"
)

// Mode is how a commit decides what is a new version.
type Mode int

const (
	// Latest: a row is a new version when its hash differs from the
	// transaction's latest version (a scheduled run).
	Latest Mode = iota
	// Unseen: a row is a new version when no version of the transaction
	// ever had its hash (a replay of history, which re-derives old states
	// and must not repeat them).
	Unseen
)

// History is one network's history in a lake.
type History struct {
	store   storage.Store
	network string
}

// Open returns the history of network in store.
func Open(store storage.Store, network string) *History {
	return &History{store: store, network: network}
}

func (h *History) stateKey(parts ...string) string {
	return path.Join(append([]string{"_state", "network=" + h.network}, parts...)...)
}

func (h *History) indexKey(b int) string { return h.stateKey("index", fmt.Sprintf("%02d.jsonl.gz", b)) }

// CurrentKey is the key of a bucket of the current table.
func CurrentKey(network string, b int) string {
	return fmt.Sprintf("current/network=%s/bucket=%02d/current.parquet", network, b)
}

// entry is what the index knows of one transaction: its versions' hashes
// and the runs that wrote them, oldest first.
type entry struct {
	Account  string      `json:"a"`
	TxID     string      `json:"t"`
	Versions [][2]string `json:"v"` // [hash, run]
}

type key struct{ account, tx string }

type index map[key]*entry

func (h *History) loadIndex(ctx context.Context, b int) (index, error) {
	idx := index{}
	data, err := h.store.Get(ctx, h.indexKey(b))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", h.indexKey(b), err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", h.indexKey(b), err)
	}
	dec := json.NewDecoder(bufio.NewReader(zr))
	for {
		var e entry
		if err := dec.Decode(&e); err != nil {
			if errors.Is(err, io.EOF) {
				return idx, nil
			}
			return nil, fmt.Errorf("reading %s: %w", h.indexKey(b), err)
		}
		idx[key{e.Account, e.TxID}] = &e
	}
}

func (idx index) encode() ([]byte, error) {
	keys := make([]key, 0, len(idx))
	for k := range idx {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].account != keys[j].account {
			return keys[i].account < keys[j].account
		}
		return keys[i].tx < keys[j].tx
	})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, k := range keys {
		if err := enc.Encode(idx[k]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// latest returns the newest hash written by a run other than runID.
func (e *entry) latest(runID string) string {
	for i := len(e.Versions) - 1; i >= 0; i-- {
		if e.Versions[i][1] != runID {
			return e.Versions[i][0]
		}
	}
	return ""
}

func (e *entry) seen(hash, runID string) bool {
	for _, v := range e.Versions {
		if v[0] == hash && v[1] != runID {
			return true
		}
	}
	return false
}

// dropRun forgets what an earlier attempt of runID wrote: a re-run of a
// run ID replaces its own versions.
func (e *entry) dropRun(runID string) {
	out := e.Versions[:0]
	for _, v := range e.Versions {
		if v[1] != runID {
			out = append(out, v)
		}
	}
	e.Versions = out
}

// CommitStats count what a commit did.
type CommitStats struct {
	Rows      int64 // rows fetched
	Versions  int64 // new versions written
	Unchanged int64 // rows equal to a known version
	Buckets   int   // buckets of the index and current table rewritten
}

type intent struct {
	RunID   string `json:"run_id"`
	Ingest  string `json:"ingest_date"`
	Buckets []int  `json:"buckets"`
}

func (h *History) intentKey(runID string) string {
	return h.stateKey("pending", runID+".json")
}

// Commit turns a run's spooled rows into versions: it writes the new
// versions to transactions/, then the affected buckets of the index and
// of current/. ingest is the run's time (its ingest_date partition).
func (h *History) Commit(ctx context.Context, runID string, ingest time.Time, sp *Spool, mode Mode) (CommitStats, error) {
	var st CommitStats
	if err := sp.finish(); err != nil {
		return st, err
	}
	buckets := sp.buckets()
	it := intent{RunID: runID, Ingest: ingest.UTC().Format(time.DateOnly), Buckets: buckets}
	ib, _ := json.Marshal(it)
	if err := h.store.Put(ctx, h.intentKey(runID), ib); err != nil {
		return st, fmt.Errorf("%s: recording the commit: %w", h.network, err)
	}
	sink := lake.NewSink(h.store, h.network, runID, ingest, nil, lake.Options{Parts: lake.PartTransactions})
	type staged struct{ index, current string }
	var stage []staged
	cleanup := func() {
		for _, s := range stage {
			os.Remove(s.index)
			os.Remove(s.current)
		}
	}
	for _, b := range buckets {
		rows, err := sp.read(b)
		if err != nil {
			sink.Abort()
			cleanup()
			return st, err
		}
		idx, err := h.loadIndex(ctx, b)
		if err != nil {
			sink.Abort()
			cleanup()
			return st, err
		}
		dropped := map[key]bool{}
		var versions []row.Unified
		for i := range rows {
			u := &rows[i]
			st.Rows++
			k := key{u.AccountID, u.TransactionID}
			e := idx[k]
			if e == nil {
				e = &entry{Account: k.account, TxID: k.tx}
				idx[k] = e
			}
			if !dropped[k] {
				dropped[k] = true
				e.dropRun(runID)
			}
			isNew := false
			switch mode {
			case Latest:
				isNew = e.latest("") != u.RowHash
			case Unseen:
				isNew = !e.seen(u.RowHash, "")
			}
			if !isNew {
				st.Unchanged++
				continue
			}
			e.Versions = append(e.Versions, [2]string{u.RowHash, runID})
			versions = append(versions, *u)
		}
		if len(versions) > 0 {
			if err := sink.WriteUnified(versions); err != nil {
				sink.Abort()
				cleanup()
				return st, fmt.Errorf("%s: writing versions: %w", h.network, err)
			}
		}
		st.Versions += int64(len(versions))
		ip, cp, err := h.stageBucket(ctx, b, idx, versions)
		if err != nil {
			sink.Abort()
			cleanup()
			return st, err
		}
		stage = append(stage, staged{ip, cp})
		st.Buckets++
	}
	if err := sink.CloseContext(ctx); err != nil {
		cleanup()
		return st, fmt.Errorf("%s: publishing versions: %w", h.network, err)
	}
	for i, b := range buckets {
		if err := h.store.PutFile(ctx, h.indexKey(b), stage[i].index); err != nil {
			cleanup()
			return st, fmt.Errorf("%s: writing %s: %w", h.network, h.indexKey(b), err)
		}
		if stage[i].current != "" {
			if err := h.store.PutFile(ctx, CurrentKey(h.network, b), stage[i].current); err != nil {
				cleanup()
				return st, fmt.Errorf("%s: writing %s: %w", h.network, CurrentKey(h.network, b), err)
			}
		}
	}
	if err := h.store.Delete(ctx, h.intentKey(runID)); err != nil {
		return st, fmt.Errorf("%s: closing the commit: %w", h.network, err)
	}
	return st, nil
}

// stageBucket writes a bucket's new index and, when it has new versions,
// its new current table to local files.
func (h *History) stageBucket(ctx context.Context, b int, idx index, versions []row.Unified) (indexPath, currentPath string, err error) {
	data, err := idx.encode()
	if err != nil {
		return "", "", err
	}
	f, err := os.CreateTemp(h.store.TempDir(), "index-*.tmp")
	if err != nil {
		return "", "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", "", err
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	if len(versions) == 0 {
		return f.Name(), "", nil
	}
	cur, err := h.readCurrent(ctx, b)
	if err != nil {
		return "", "", err
	}
	byKey := make(map[key]int, len(cur))
	for i := range cur {
		byKey[key{cur[i].AccountID, cur[i].TransactionID}] = i
	}
	for _, v := range versions {
		k := key{v.AccountID, v.TransactionID}
		if i, ok := byKey[k]; ok {
			cur[i] = v
		} else {
			byKey[k] = len(cur)
			cur = append(cur, v)
		}
	}
	sort.Slice(cur, func(i, j int) bool {
		if cur[i].AccountID != cur[j].AccountID {
			return cur[i].AccountID < cur[j].AccountID
		}
		return cur[i].TransactionID < cur[j].TransactionID
	})
	cf, err := os.CreateTemp(h.store.TempDir(), "current-*.tmp")
	if err != nil {
		return "", "", err
	}
	w := lake.NewUnifiedWriter(cf)
	if err := w.Write(cur); err != nil {
		cf.Close()
		return "", "", err
	}
	if err := w.Close(); err != nil {
		cf.Close()
		return "", "", err
	}
	if err := cf.Close(); err != nil {
		return "", "", err
	}
	return f.Name(), cf.Name(), nil
}

// readCurrent reads a bucket of the current table.
func (h *History) readCurrent(ctx context.Context, b int) ([]row.Unified, error) {
	data, err := h.store.Get(ctx, CurrentKey(h.network, b))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return readUnified(data)
}

func readUnified(data []byte) ([]row.Unified, error) {
	r := parquet.NewGenericReader[row.Unified](bytes.NewReader(data))
	defer r.Close()
	out := make([]row.Unified, r.NumRows())
	n, err := r.Read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for i := range out[:n] {
		u := &out[i]
		u.TransactionAt = u.TransactionAt.UTC()
		u.FetchedAt = u.FetchedAt.UTC()
		for _, t := range []*time.Time{u.ClickAt, u.UpdatedAt, u.ValidatedAt, u.PaidAt} {
			if t != nil {
				*t = t.UTC()
			}
		}
	}
	return out[:n], nil
}

// Recover folds into the index and the current table the versions that
// an interrupted commit published, and forgets commits that published
// nothing. Run it before a commit.
func (h *History) Recover(ctx context.Context) error {
	keys, err := h.store.List(ctx, h.stateKey("pending")+"/")
	if err != nil {
		return fmt.Errorf("%s: listing interrupted commits: %w", h.network, err)
	}
	for _, k := range keys {
		data, err := h.store.Get(ctx, k)
		if err != nil {
			return err
		}
		var it intent
		if err := json.Unmarshal(data, &it); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if err := h.fold(ctx, it); err != nil {
			return fmt.Errorf("%s: recovering run %s: %w", h.network, it.RunID, err)
		}
		if err := h.store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

func (h *History) fold(ctx context.Context, it intent) error {
	prefix := fmt.Sprintf("transactions/network=%s/ingest_date=%s/%s-", h.network, it.Ingest, it.RunID)
	files, err := h.store.List(ctx, prefix)
	if err != nil {
		return err
	}
	byBucket := map[int][]row.Unified{}
	for _, f := range files {
		if !strings.HasSuffix(f, ".parquet") {
			continue
		}
		data, err := h.store.Get(ctx, f)
		if err != nil {
			return err
		}
		rows, err := readUnified(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, u := range rows {
			b := bucketOf(u.AccountID, u.TransactionID)
			byBucket[b] = append(byBucket[b], u)
		}
	}
	for b, versions := range byBucket {
		idx, err := h.loadIndex(ctx, b)
		if err != nil {
			return err
		}
		done := false
		for _, e := range idx {
			for _, v := range e.Versions {
				if v[1] == it.RunID {
					done = true
				}
			}
		}
		if done {
			continue // this bucket was rewritten before the interruption
		}
		for _, u := range versions {
			k := key{u.AccountID, u.TransactionID}
			e := idx[k]
			if e == nil {
				e = &entry{Account: k.account, TxID: k.tx}
				idx[k] = e
			}
			e.Versions = append(e.Versions, [2]string{u.RowHash, it.RunID})
		}
		ip, cp, err := h.stageBucket(ctx, b, idx, versions)
		if err != nil {
			return err
		}
		if err := h.store.PutFile(ctx, h.indexKey(b), ip); err != nil {
			return err
		}
		if cp != "" {
			if err := h.store.PutFile(ctx, CurrentKey(h.network, b), cp); err != nil {
				return err
			}
		}
	}
	return nil
}

// Watermarks returns, per account, how far the last successful run got.
func (h *History) Watermarks(ctx context.Context) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	data, err := h.store.Get(ctx, h.stateKey("watermarks.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", h.stateKey("watermarks.json"), err)
	}
	return out, nil
}

// SetWatermarks records accounts' new watermarks (keeping the others).
func (h *History) SetWatermarks(ctx context.Context, marks map[string]time.Time) error {
	if len(marks) == 0 {
		return nil
	}
	cur, err := h.Watermarks(ctx)
	if err != nil {
		return err
	}
	for a, t := range marks {
		if t.After(cur[a]) {
			cur[a] = t.UTC()
		}
	}
	b, _ := json.MarshalIndent(cur, "", "  ")
	return h.store.Put(ctx, h.stateKey("watermarks.json"), b)
}
