package run

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/history"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
	"github.com/afflake/afflake/engine/transform"
)

// ReplayOptions configure a replay: the raw zone re-mapped with today's
// specs, without any network access.
type ReplayOptions struct {
	Store    storage.Store
	Specs    map[string]*spec.Spec
	Networks []string  // networks to replay; empty: every network in the raw zone that has a spec
	From, To time.Time // ingest dates to replay, [From, To); zero: all
	RunID    string    // the replay's own run ID, under which new versions are written
	Now      time.Time
	Workers  int
}

// Replay re-maps every raw body in range. Each original run's network
// table files (and quarantine) are rewritten in place, so a column added
// to a spec fills all of history; the unified rows go through change
// detection, and only states no version ever had become new versions,
// written under the replay's run ID with today's spec_hash.
func Replay(ctx context.Context, o ReplayOptions) (*Manifest, error) {
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	m := &Manifest{RunID: o.RunID, Lake: o.Store.String(), Started: time.Now().UTC()}
	keys, err := o.Store.List(ctx, "raw/")
	if err != nil {
		return nil, fmt.Errorf("listing the raw zone: %w", err)
	}
	byNet := map[string][]lake.RawRef{}
	for _, k := range keys {
		r, ok := lake.ParseRawKey(k)
		if !ok {
			continue
		}
		if (!o.From.IsZero() && r.Ingest.Before(o.From)) || (!o.To.IsZero() && !r.Ingest.Before(o.To)) {
			continue
		}
		byNet[r.Network] = append(byNet[r.Network], r)
	}
	want := map[string]bool{}
	for _, n := range o.Networks {
		want[n] = true
	}
	var nets []string
	for n := range byNet {
		if (len(want) == 0 || want[n]) && o.Specs[n] != nil {
			nets = append(nets, n)
		}
	}
	sort.Strings(nets)
	for _, n := range nets {
		m.Networks = append(m.Networks, replayNetwork(ctx, o, o.Specs[n], byNet[n]))
	}
	m.Finish()
	if err := m.Write(ctx, o.Store); err != nil {
		return m, fmt.Errorf("writing the replay manifest: %w", err)
	}
	return m, nil
}

func replayNetwork(ctx context.Context, o ReplayOptions, sp *spec.Spec, raws []lake.RawRef) NetworkResult {
	start := time.Now()
	res := NetworkResult{Network: sp.Name, SpecHash: sp.Hash}
	fail := func(err error) NetworkResult {
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", sp.Name, err))
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	hist, spool, release, err := openHistory(ctx, o.Store, sp.Name, o.RunID)
	if err != nil {
		return fail(err)
	}
	defer release()
	cols := mapping.TableColumns(sp)
	// Oldest first, so versions come out in the order they happened.
	sort.Slice(raws, func(i, j int) bool {
		a, b := raws[i], raws[j]
		if !a.Ingest.Equal(b.Ingest) {
			return a.Ingest.Before(b.Ingest)
		}
		if a.RunID != b.RunID {
			return a.RunID < b.RunID
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Seq < b.Seq
	})
	accounts := map[string]*AccountResult{}
	stats := map[string]*transform.Stats{} // of each account, over its runs
	var order []string
	for i := 0; i < len(raws); {
		// One original run (and ingest date) at a time: its network table
		// files are rewritten under their own names.
		j := i
		for j < len(raws) && raws[j].RunID == raws[i].RunID && raws[j].Ingest.Equal(raws[i].Ingest) {
			j++
		}
		group := raws[i:j]
		i = j
		sink := lake.NewSink(o.Store, sp.Name, group[0].RunID, group[0].Ingest, cols, lake.Options{Parts: lake.PartTables | lake.PartQuarantine})
		for a := 0; a < len(group); {
			b := a
			for b < len(group) && group[b].Account == group[a].Account {
				b++
			}
			acct := group[a].Account
			ar := accounts[acct]
			if ar == nil {
				ar = &AccountResult{Account: acct}
				accounts[acct] = ar
				stats[acct] = &transform.Stats{}
				order = append(order, acct)
			}
			ar.Pages += int64(b - a)
			stats[acct].Add(replayAccount(ctx, o, sp, group[a:b], sink, spool))
			a = b
		}
		if err := sink.CloseContext(context.WithoutCancel(ctx)); err != nil {
			return fail(err)
		}
		res.Files = append(res.Files, sink.Outputs()...)
	}
	for _, a := range order {
		accounts[a].SetCounts(stats[a])
		res.Accounts = append(res.Accounts, *accounts[a])
	}
	cs, err := hist.Commit(context.WithoutCancel(ctx), o.RunID, o.Now, spool, history.Unseen)
	if err != nil {
		return fail(err)
	}
	res.Versions, res.Unchanged = cs.Versions, cs.Unchanged
	res.Seconds = time.Since(start).Seconds()
	return res
}

func replayAccount(ctx context.Context, o ReplayOptions, sp *spec.Spec, raws []lake.RawRef, sink *lake.Sink, spool *history.Spool) transform.Stats {
	// Each body's meta says when it was received and how large it is;
	// the account's configuration travels with the bodies, in the first
	// one's.
	var acct mapping.Account
	inputs := make([]transform.Input, len(raws))
	for i, r := range raws {
		r := r
		meta, err := lake.GetMeta(ctx, o.Store, r.Key)
		if err != nil {
			meta = lake.RawMeta{} // mapped all the same, at the run's ingest time
		}
		if i == 0 {
			acct = mapping.AccountOf(r.Account, meta.Account)
		}
		inputs[i] = transform.Input{
			Ref:   r.Key,
			Where: fmt.Sprintf("%s account %s raw %s", sp.Name, r.Account, strings.TrimPrefix(r.Key, "raw/")),
			// Stored gzipped, read as any gzipped body is.
			Read: func() ([]byte, error) { return o.Store.Get(ctx, r.Key) },
			// A large body is read as a stream (its meta says how
			// large): it is not held in memory.
			Open:      func() (io.ReadCloser, error) { return o.Store.Open(ctx, r.Key) },
			Size:      int64(meta.Bytes),
			FetchedAt: meta.Received(),
		}
	}
	st, err := transform.Run(ctx, transform.Job{
		Spec: sp, Account: acct, Sink: sink, Rows: spool, RunID: raws[0].RunID, FetchedAt: raws[0].Ingest, Workers: o.Workers,
	}, inputs)
	if err != nil {
		st.Errors = append(st.Errors, err)
	}
	return st
}
