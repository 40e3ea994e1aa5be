//go:build !unix

package storage

import (
	"context"
	"sync"
)

// lockMu serialises conditional writes where flock(2) is not available:
// within this process only.
var lockMu sync.Mutex

// lockDir takes the process-wide lock of conditional writes.
func lockDir(ctx context.Context, dir string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lockMu.Lock()
	return lockMu.Unlock, nil
}
