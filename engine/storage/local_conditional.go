package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

var _ Conditional = (*LocalStore)(nil)

// etagOf is a local object's ETag: the hex SHA-256 of its content.
func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// GetWithETag reads the object under key and returns its ETag, the hex
// SHA-256 of its content.
func (s *LocalStore) GetWithETag(ctx context.Context, key string) ([]byte, string, error) {
	b, err := s.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	return b, etagOf(b), nil
}

// PutIfAbsent writes data under key only if there is no object there;
// ErrPrecondition if there is. Conditional writes to a directory are
// serialised by a lock on it, which other processes respect too.
func (s *LocalStore) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	_, err := s.putIf(ctx, key, data, func(cur []byte, exists bool) error {
		if exists {
			return fmt.Errorf("put if absent %s: %w: the object exists", key, ErrPrecondition)
		}
		return nil
	})
	return err
}

// PutIfMatch replaces the object under key only if its ETag is still etag,
// and returns the new ETag; ErrPrecondition if the object changed or is
// gone.
func (s *LocalStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("put if match %s: empty etag (use PutIfAbsent)", key)
	}
	etag = strings.Trim(etag, `"`)
	return s.putIf(ctx, key, data, func(cur []byte, exists bool) error {
		switch {
		case !exists:
			return fmt.Errorf("put if match %s: %w: the object is gone", key, ErrPrecondition)
		case etagOf(cur) != etag:
			return fmt.Errorf("put if match %s: %w: the object changed since it was read", key, ErrPrecondition)
		}
		return nil
	})
}

// putIf writes data under key if ok accepts the current object, holding
// the lock of key's directory from the read to the rename.
func (s *LocalStore) putIf(ctx context.Context, key string, data []byte, ok func(cur []byte, exists bool) error) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dst, err := s.Path(key)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("put %s: lock %s: %w", key, dir, err)
	}
	defer unlock()
	cur, err := os.ReadFile(dst)
	exists := err == nil
	if err != nil && !errors.Is(notDir(err), fs.ErrNotExist) {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	if err := ok(cur, exists); err != nil {
		return "", err
	}
	if err := s.Put(ctx, key, data); err != nil {
		return "", err
	}
	return etagOf(data), nil
}
