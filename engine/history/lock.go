package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/afflake/afflake/engine/storage"
)

// ErrLocked is returned by Lock while another run writes the network.
var ErrLocked = errors.New("another run is writing this network")

// StaleLock is how long a lock lives without its run renewing it; a
// running run renews it every StaleLock/5, so a lock older than this was
// left by a run that crashed, and the next run takes it over.
const StaleLock = 5 * time.Minute

type lockFile struct {
	RunID string    `json:"run_id"`
	Since time.Time `json:"since"`
}

func (h *History) lockKey() string { return h.stateKey("lock.json") }

// Lock takes the network's lock for runID, with a conditional write, so
// that two runs (two jobs of a scheduler, say) never commit the same
// network's history at once. A lock older than StaleLock is taken over.
// The returned func releases it.
func (h *History) Lock(ctx context.Context, runID string, now time.Time) (func(), error) {
	cond, ok := h.store.(storage.Conditional)
	if !ok {
		return func() {}, nil
	}
	data, _ := json.Marshal(lockFile{RunID: runID, Since: now.UTC()})
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	renew := func() {
		defer close(done)
		t := time.NewTicker(StaleLock / 5)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case tick := <-t.C:
				held, etag, err := cond.GetWithETag(ctx, h.lockKey())
				var lf lockFile
				if err != nil || json.Unmarshal(held, &lf) != nil || lf.RunID != runID {
					return
				}
				b, _ := json.Marshal(lockFile{RunID: runID, Since: now.Add(tick.Sub(start)).UTC()})
				_, _ = cond.PutIfMatch(ctx, h.lockKey(), b, etag)
			}
		}
	}
	release := func() {
		close(stop)
		<-done
		// Only our own lock: a run that took over a stale one keeps it.
		ctx := context.WithoutCancel(ctx)
		if held, _, err := cond.GetWithETag(ctx, h.lockKey()); err == nil {
			var lf lockFile
			if json.Unmarshal(held, &lf) == nil && lf.RunID == runID {
				_ = h.store.Delete(ctx, h.lockKey())
			}
		}
	}
	err := cond.PutIfAbsent(ctx, h.lockKey(), data)
	if err == nil {
		go renew()
		return release, nil
	}
	if !errors.Is(err, storage.ErrPrecondition) {
		return nil, fmt.Errorf("%s: taking the run lock: %w", h.network, err)
	}
	held, etag, err := cond.GetWithETag(ctx, h.lockKey())
	if err != nil {
		return nil, fmt.Errorf("%s: reading the run lock: %w", h.network, err)
	}
	var lf lockFile
	if json.Unmarshal(held, &lf) == nil && lf.RunID != runID && now.Sub(lf.Since) < StaleLock {
		return nil, fmt.Errorf("%s: %w: run %s since %s", h.network, ErrLocked, lf.RunID, lf.Since.Format(time.RFC3339))
	}
	// Our own lock from an interrupted attempt, or a stale one.
	if _, err := cond.PutIfMatch(ctx, h.lockKey(), data, etag); err != nil {
		if errors.Is(err, storage.ErrPrecondition) {
			return nil, fmt.Errorf("%s: %w (it changed hands just now)", h.network, ErrLocked)
		}
		return nil, fmt.Errorf("%s: taking over the run lock: %w", h.network, err)
	}
	go renew()
	return release, nil
}
