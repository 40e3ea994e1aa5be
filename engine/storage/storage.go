// Package storage is where the lake lives: a local directory or an S3
// bucket, behind one interface. Keys are '/'-separated paths relative to the lake's
// root ("transactions/network=<name>/ingest_date=2026-11-01/r1-0.parquet").
//
// Every write is atomic: a reader sees either the previous object under a
// key or the complete new one, never a partial object.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Store is where the lake lives: a local directory (LocalStore) or an S3
// bucket (S3Store).
type Store interface {
	// PutFile moves/uploads the finished local file at path to key
	// atomically: a reader never sees a partial object. The local file is
	// consumed.
	PutFile(ctx context.Context, key, path string) error
	// Put stores data under key, atomically.
	Put(ctx context.Context, key string, data []byte) error
	// Get returns the object under key; errors.Is(err, fs.ErrNotExist)
	// when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Open returns a reader of the object under key; errors.Is(err,
	// fs.ErrNotExist) when there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys that start with prefix, sorted. The prefix is
	// a plain string prefix, as in S3: "a/b" matches "a/b/c" and "a/bc".
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object under key. Deleting a missing key is not
	// an error.
	Delete(ctx context.Context, key string) error
	// TempDir is where writers stage files before PutFile. For a local
	// store it is <root>/_tmp, on the same filesystem, so PutFile is a
	// rename; for S3 it is a local temporary directory.
	TempDir() string
	// Check proves that the lake can be written, so that a run can stop
	// before it sends any request: for a local store, a writable
	// directory; for S3, credentials, the bucket, and a small object
	// written and deleted (_state/.probe). Its errors name the lake.
	Check(ctx context.Context) error
	// String is the lake's location, for messages.
	String() string
}

// Conditional is implemented by stores that can write an object only if it
// is unchanged since it was read, so that two runs sharing state cannot
// overwrite each other's writes. Both LocalStore and S3Store implement it;
// callers type-assert.
type Conditional interface {
	// GetWithETag returns the object under key and its ETag, an opaque
	// version tag; errors.Is(err, fs.ErrNotExist) when there is none.
	GetWithETag(ctx context.Context, key string) (data []byte, etag string, err error)
	// PutIfMatch replaces the object under key only if its ETag is still
	// etag, and returns the new ETag; ErrPrecondition if the object has
	// changed or is gone.
	PutIfMatch(ctx context.Context, key string, data []byte, etag string) (newETag string, err error)
	// PutIfAbsent stores data under key only if there is no object there;
	// ErrPrecondition if there is.
	PutIfAbsent(ctx context.Context, key string, data []byte) error
}

// ErrPrecondition is the error of a conditional write that lost: the
// object changed, appeared or disappeared since it was read.
var ErrPrecondition = errors.New("precondition failed")

// Open returns the store at location: "s3://bucket/prefix" (see S3 for
// the configuration it reads), "file:///path" or a plain directory path.
// It sends no request to S3; Check does.
func Open(location string) (Store, error) {
	switch {
	case location == "":
		return nil, errors.New("lake location is empty")
	case hasS3Scheme(location):
		s, err := S3(context.Background(), location, Options{})
		if err != nil {
			return nil, err
		}
		return s, nil
	case strings.HasPrefix(location, "file://"):
		location = strings.TrimPrefix(location, "file://")
	}
	return Local(location)
}

// CheckKey reports whether key is a valid object key: not empty, relative,
// '/'-separated, with no empty, "." or ".." segment and no backslash or NUL.
func CheckKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("invalid key %q: contains a backslash or NUL", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("invalid key %q: empty, \".\" or \"..\" path segment", key)
		}
	}
	return nil
}
