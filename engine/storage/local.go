package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// tmpName is the directory under a local lake's root where files are
// staged before they are renamed to their key. It is not part of the lake:
// List never returns keys under it and no key may start with it.
const tmpName = "_tmp"

// StaleAfter is how long a staged entry may sit untouched under _tmp
// before opening the lake removes it. A run that crashed leaves its staged
// files there (never visible in the lake); a live run touches its files far
// more often than this.
const StaleAfter = 24 * time.Hour

// LocalStore is a lake in a local directory. Every key is a file under the
// root; writes go to a temporary file under <root>/_tmp, are fsynced, and
// are renamed to their final name, so a reader never sees a partial file.
//
// A LocalStore is safe for concurrent use. Two concurrent writes of the
// same key both succeed; the last rename wins.
type LocalStore struct {
	root  string
	tmp   string
	swept int
}

var _ Store = (*LocalStore)(nil)

// Local returns the store rooted at the directory root, creating it (and
// its staging directory) if needed, and checks that it is writable.
func Local(root string) (*LocalStore, error) {
	if root == "" {
		return nil, errors.New("lake directory is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("lake directory %s: %w", root, err)
	}
	s := &LocalStore{root: abs, tmp: filepath.Join(abs, tmpName)}
	if err := s.probe(); err != nil {
		return nil, err
	}
	s.swept = s.sweep(time.Now())
	return s, nil
}

// Swept is the number of stale staged entries (see StaleAfter) that
// opening the lake removed.
func (s *LocalStore) Swept() int { return s.swept }

// sweep removes the entries of the staging directory that nothing has
// modified for StaleAfter before now (a directory counts as modified when
// anything in it was), and returns how many it removed. It is best effort:
// an entry it cannot read or remove is left for the next time.
func (s *LocalStore) sweep(now time.Time) int {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		p := filepath.Join(s.tmp, e.Name())
		if latest, ok := lastModified(p); ok && now.Sub(latest) > StaleAfter && os.RemoveAll(p) == nil {
			n++
		}
	}
	return n
}

// lastModified is the latest modification time of path and, for a
// directory, of everything in it; ok is false when any of it cannot be read.
func lastModified(path string) (latest time.Time, ok bool) {
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if t := fi.ModTime(); t.After(latest) {
			latest = t
		}
		return nil
	})
	return latest, err == nil
}

// probe creates the root and the staging directory if needed and proves
// that files can be created, written and removed there.
func (s *LocalStore) probe() error {
	if err := os.MkdirAll(s.tmp, 0o755); err != nil {
		return fmt.Errorf("lake directory %s cannot be created: %w", s.root, err)
	}
	f, err := os.CreateTemp(s.tmp, ".probe-*")
	if err == nil {
		_, err = f.Write([]byte("ok"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := os.Remove(f.Name()); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("lake directory %s is not writable: %w", s.root, err)
	}
	return nil
}

// Check proves again that the lake's directory exists (it is re-created
// if it was removed) and is writable.
func (s *LocalStore) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lake directory %s: %w", s.root, err)
	}
	return s.probe()
}

// Root is the lake's directory (absolute).
func (s *LocalStore) Root() string { return s.root }

// TempDir is <root>/_tmp.
func (s *LocalStore) TempDir() string { return s.tmp }

// String is the lake's directory.
func (s *LocalStore) String() string { return s.root }

// Path is the file that holds key.
func (s *LocalStore) Path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if key == tmpName || strings.HasPrefix(key, tmpName+"/") {
		return "", fmt.Errorf("invalid key %q: %s/ is reserved for staging", key, tmpName)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes data to a staged file, fsyncs it and renames it to key.
func (s *LocalStore) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dst, err := s.Path(key)
	if err != nil {
		return err
	}
	err = s.writeIn(dst, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// PutFile fsyncs the file at path and renames it to key. When path is on
// another filesystem it is copied to a staged file first and then removed.
func (s *LocalStore) PutFile(ctx context.Context, key, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dst, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := syncFile(path); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	err = s.rename(path, dst)
	if isCrossDevice(err) {
		err = s.copyIn(path, dst)
	}
	if err != nil {
		return fmt.Errorf("put %s from %s: %w", key, path, err)
	}
	return nil
}

// syncFile checks that path is a regular file, makes it readable the way a
// newly created file is, and flushes it to stable storage.
func syncFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyIn copies src to a staged file on the lake's filesystem, renames it
// to dst and removes src.
func (s *LocalStore) copyIn(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	err = s.writeIn(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
	if err != nil {
		return err
	}
	in.Close()
	return os.Remove(src)
}

// writeIn writes a staged file with write, makes it readable, flushes it
// to stable storage and renames it to dst; on an error the staged file is
// removed and dst is untouched.
func (s *LocalStore) writeIn(dst string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(s.tmp, ".put-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// rename moves the finished file from to dst, creating dst's directory, and
// fsyncs the directory so that the new name survives a crash.
func (s *LocalStore) rename(from, dst string) error {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", dst)
	}
	if err := os.Rename(from, dst); err != nil {
		return err
	}
	return syncDir(dir)
}

func isCrossDevice(err error) bool {
	var le *os.LinkError
	return errors.As(err, &le) && errors.Is(le.Err, syscall.EXDEV)
}

// syncDir fsyncs a directory. Filesystems and systems that cannot sync a
// directory are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// Get reads the object under key.
func (s *LocalStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, notDir(err))
	}
	return b, nil
}

// Open opens the object under key for reading.
func (s *LocalStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, notDir(err))
	}
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, fs.ErrNotExist)
	}
	return f, nil
}

// notDir maps "reading a directory" and "a path component is a file" to
// fs.ErrNotExist: in an object store neither names an object.
func notDir(err error) error {
	if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%v)", fs.ErrNotExist, err)
	}
	return err
}

// Delete removes the object under key; a missing key is not an error.
// Directories left empty are kept.
func (s *LocalStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return fmt.Errorf("delete %s: %w", key, err)
	case fi.IsDir():
		return fmt.Errorf("delete %s: is a directory, not an object", key)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List returns the keys that start with prefix, sorted, leaving out the
// staging directory.
func (s *LocalStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.ContainsAny(prefix, "\\\x00") || strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("invalid prefix %q", prefix)
	}
	for seg := range strings.SplitSeq(prefix, "/") {
		if seg == ".." || seg == "." {
			return nil, fmt.Errorf("invalid prefix %q", prefix)
		}
	}
	// Start at the deepest directory the prefix names.
	start := s.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return filepath.SkipAll
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == s.root {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if key == tmpName {
				return filepath.SkipDir
			}
			// Descend only where keys can match the prefix.
			dk := key + "/"
			if !strings.HasPrefix(dk, prefix) && !strings.HasPrefix(prefix, dk) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(key, prefix) && !strings.HasPrefix(key, tmpName+"/") {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}
