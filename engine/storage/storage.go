// Package storage is where the lake lives: a local directory now, S3 later,
// behind one interface. Keys are '/'-separated paths relative to the lake's
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

// Store is where the lake lives: a local directory now, S3 later (same
// interface).
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
	// rename.
	TempDir() string
	// String is the lake's location, for messages.
	String() string
}

// ErrS3Unsupported is returned by Open for an s3:// location.
var ErrS3Unsupported = errors.New("s3 lakes are not supported yet")

// Open returns the store at location: "s3://bucket/prefix" (not supported
// yet), "file:///path" or a plain directory path.
func Open(location string) (Store, error) {
	switch {
	case location == "":
		return nil, errors.New("lake location is empty")
	case strings.HasPrefix(strings.ToLower(location), "s3://"):
		return nil, fmt.Errorf("%s: %w", location, ErrS3Unsupported)
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
