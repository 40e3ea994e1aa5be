package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T) *LocalStore {
	t.Helper()
	s, err := Local(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLocalCreatesRootAndTempDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b", "lake")
	s, err := Local(root)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != root || s.Root() != root {
		t.Errorf("String() = %q, Root() = %q, want %q", s.String(), s.Root(), root)
	}
	if got, want := s.TempDir(), filepath.Join(root, "_tmp"); got != want {
		t.Errorf("TempDir() = %q, want %q", got, want)
	}
	if fi, err := os.Stat(s.TempDir()); err != nil || !fi.IsDir() {
		t.Errorf("TempDir not created: %v", err)
	}
	// The writability probe leaves nothing behind.
	if ents, _ := os.ReadDir(s.TempDir()); len(ents) != 0 {
		t.Errorf("TempDir holds %d entries after Local, want 0", len(ents))
	}
}

func TestLocalNotWritable(t *testing.T) {
	dir := t.TempDir()
	// A file where a directory is needed fails for root too.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Local(filepath.Join(file, "lake"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(file, "lake")) {
		t.Fatalf("Local under a file: err = %v, want an error naming the path", err)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.MkdirAll(filepath.Join(ro, "_tmp"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(ro, "_tmp"), 0o555)
		defer os.Chmod(filepath.Join(ro, "_tmp"), 0o755)
		_, err := Local(ro)
		if err == nil || !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), ro) {
			t.Fatalf("Local(read-only): err = %v, want a 'not writable' error naming %s", err, ro)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		loc     string
		wantErr string
		root    string
	}{
		{loc: "s3://bucket/prefix", root: "s3://bucket/prefix"},
		{loc: "S3://bucket", root: "s3://bucket"},
		{loc: "s3://", wantErr: "lake s3://: no bucket name"},
		{loc: "s3://Bucket/x", wantErr: "invalid bucket name"},
		{loc: "", wantErr: "empty"},
		{loc: filepath.Join(dir, "plain"), root: filepath.Join(dir, "plain")},
		{loc: "file://" + filepath.Join(dir, "url"), root: filepath.Join(dir, "url")},
	} {
		st, err := Open(tc.loc)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open(%q) err = %v, want %q", tc.loc, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.loc, err)
			continue
		}
		if st.String() != tc.root {
			t.Errorf("Open(%q).String() = %q, want %q", tc.loc, st.String(), tc.root)
		}
	}
}

func TestPutGetOpen(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, tc := range []struct {
		key  string
		data []byte
	}{
		{"a.txt", []byte("top")},
		{"_runs/r1.json", []byte(`{"ok":true}`)},
		{"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet", []byte("PAR1…PAR1")},
		{"empty", nil},
		{"a.txt", []byte("overwritten")}, // replaces
	} {
		if err := s.Put(ctx, tc.key, tc.data); err != nil {
			t.Fatalf("Put(%q): %v", tc.key, err)
		}
		got, err := s.Get(ctx, tc.key)
		if err != nil {
			t.Fatalf("Get(%q): %v", tc.key, err)
		}
		if !bytes.Equal(got, tc.data) {
			t.Errorf("Get(%q) = %q, want %q", tc.key, got, tc.data)
		}
		rc, err := s.Open(ctx, tc.key)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.key, err)
		}
		got, err = io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, tc.data) {
			t.Errorf("Open(%q) read %q, %v; want %q", tc.key, got, err, tc.data)
		}
		fi, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(tc.key)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644", tc.key, fi.Mode().Perm())
		}
	}
	if ents, _ := os.ReadDir(s.TempDir()); len(ents) != 0 {
		t.Errorf("staging directory holds %d entries after Put, want 0", len(ents))
	}
}

func TestMissingKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Put(ctx, "dir/file", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"nope", "dir/nope", "no/such/dir/file", "dir", "dir/file/below"} {
		if _, err := s.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get(%q) err = %v, want fs.ErrNotExist", key, err)
		}
		if rc, err := s.Open(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) err = %v, want fs.ErrNotExist", key, err)
		}
	}
	for _, key := range []string{"nope", "dir/nope", "dir/file/below"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v", key, err)
		}
	}
	if err := s.Delete(ctx, "dir"); err == nil {
		t.Errorf("Delete of a directory succeeded")
	}
}

func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, key := range []string{"", "/abs", "a//b", "a/", "../x", "a/../../x", "./a", `a\b`, "a\x00b", "_tmp", "_tmp/x"} {
		if err := s.Put(ctx, key, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an error", key)
		}
		if _, err := s.Get(ctx, key); err == nil {
			t.Errorf("Get(%q) succeeded, want an error", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded, want an error", key)
		}
	}
	for _, prefix := range []string{"../", "/abs", "a/../b"} {
		if _, err := s.List(ctx, prefix); err == nil {
			t.Errorf("List(%q) succeeded, want an error", prefix)
		}
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	keys := []string{
		"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
		"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
		"transactions/network=awin/ingest_date=2026-11-02/r2-0.parquet",
		"transactions/network=awin-x/ingest_date=2026-11-01/r1-0.parquet",
		"transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet",
		"tables/awin/ingest_date=2026-11-01/r1-0.parquet",
		"_runs/r1.json",
		"top",
	}
	for _, k := range keys {
		if err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	// A staged file is never listed.
	if err := os.WriteFile(filepath.Join(s.TempDir(), "staged.parquet"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{
			"_runs/r1.json",
			"tables/awin/ingest_date=2026-11-01/r1-0.parquet",
			"top",
			"transactions/network=awin-x/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
			"transactions/network=awin/ingest_date=2026-11-02/r2-0.parquet",
			"transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet",
		}},
		{"transactions/network=awin/", []string{
			"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
			"transactions/network=awin/ingest_date=2026-11-02/r2-0.parquet",
		}},
		{"transactions/network=awin", []string{ // a plain string prefix, as in S3
			"transactions/network=awin-x/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
			"transactions/network=awin/ingest_date=2026-11-02/r2-0.parquet",
		}},
		{"transactions/network=awin/ingest_date=2026-11-01/r1-", []string{
			"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
		}},
		{"t", []string{
			"tables/awin/ingest_date=2026-11-01/r1-0.parquet",
			"top",
			"transactions/network=awin-x/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet",
			"transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet",
			"transactions/network=awin/ingest_date=2026-11-02/r2-0.parquet",
			"transactions/network=cj/ingest_date=2026-11-01/r1-0.parquet",
		}},
		{"top", []string{"top"}},
		{"top/", nil},
		{"_tmp/", nil},
		{"_tmp", nil},
		{"missing/dir/", nil},
		{"transactions/network=zz", nil},
	} {
		got, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Errorf("List(%q): %v", tc.prefix, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q) =\n%q\nwant\n%q", tc.prefix, got, tc.want)
		}
	}
	if err := s.Delete(ctx, "transactions/network=awin/ingest_date=2026-11-01/r1-1.parquet"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.List(ctx, "transactions/network=awin/ingest_date=2026-11-01/")
	if want := []string{"transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after Delete, List = %q, want %q", got, want)
	}
}

func TestPutFile(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// Staged in TempDir: a rename.
	staged := filepath.Join(s.TempDir(), "x.parquet.tmp")
	if err := os.WriteFile(staged, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "transactions/network=awin/ingest_date=2026-11-01/r1-0.parquet"
	if err := s.PutFile(ctx, key, staged); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(staged); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile left its source behind: %v", err)
	}
	if got, _ := s.Get(ctx, key); string(got) != "v1" {
		t.Errorf("Get = %q, want v1", got)
	}
	fi, _ := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(key)))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	// A file elsewhere replaces the object.
	other := filepath.Join(t.TempDir(), "y")
	if err := os.WriteFile(other, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(ctx, key, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, key); string(got) != "v2" {
		t.Errorf("Get = %q, want v2", got)
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile left its source behind: %v", err)
	}
	// Errors: missing source, a directory as source; the object stays.
	if err := s.PutFile(ctx, key, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PutFile(missing) err = %v, want fs.ErrNotExist", err)
	}
	if err := s.PutFile(ctx, key, t.TempDir()); err == nil {
		t.Errorf("PutFile(directory) succeeded")
	}
	if got, _ := s.Get(ctx, key); string(got) != "v2" {
		t.Errorf("after failed PutFile, Get = %q, want v2", got)
	}
}

func TestCopyInAcrossFilesystems(t *testing.T) {
	// The cross-device path of PutFile, exercised directly.
	s := newStore(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("copied"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst, _ := s.Path("a/b")
	if err := s.copyIn(src, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(context.Background(), "a/b"); string(got) != "copied" {
		t.Errorf("Get = %q", got)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source not removed: %v", err)
	}
	if ents, _ := os.ReadDir(s.TempDir()); len(ents) != 0 {
		t.Errorf("staging directory holds %d entries, want 0", len(ents))
	}
}

// TestAtomicity overwrites one key many times while readers read it: every
// read sees one complete version, never a truncated or mixed one, and the
// final name is never missing once it exists.
func TestAtomicity(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const key = "tables/awin/ingest_date=2026-11-01/r1-0.parquet"
	const size = 256 << 10
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, size) }
	if err := s.Put(ctx, key, version(0)); err != nil {
		t.Fatal(err)
	}
	const writes = 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	errc := make(chan error, 8)
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				b, err := s.Get(ctx, key)
				if err != nil {
					errc <- err
					return
				}
				if len(b) != size || !bytes.Equal(b, bytes.Repeat(b[:1], size)) {
					errc <- errors.New("read a partial or mixed object")
					return
				}
				// Nothing but complete objects under the partition.
				names, err := s.List(ctx, "tables/")
				if err != nil || len(names) != 1 || names[0] != key {
					errc <- errors.New("listing shows more than the one object")
					return
				}
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		var err error
		if i%2 == 0 {
			err = s.Put(ctx, key, version(i))
		} else {
			f, ferr := os.CreateTemp(s.TempDir(), "stage-*")
			if ferr != nil {
				t.Fatal(ferr)
			}
			// Written in two halves: a reader of the final name would see
			// the first half alone if PutFile were not atomic.
			v := version(i)
			f.Write(v[:size/2])
			f.Write(v[size/2:])
			f.Close()
			err = s.PutFile(ctx, key, f.Name())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	if got, _ := s.Get(ctx, key); !bytes.Equal(got, version(writes)) {
		t.Errorf("final object is not the last version written")
	}
}

func TestCanceledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "k", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Put err = %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get err = %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List err = %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete err = %v", err)
	}
	if err := s.PutFile(ctx, "k", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("PutFile err = %v", err)
	}
	if _, err := s.Open(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open err = %v", err)
	}
}

// TestLocalSweepsStaleStaging: opening a lake removes what crashed runs
// left under _tmp, untouched for StaleAfter, and keeps everything newer,
// including an old directory with a fresh file in it.
func TestLocalSweepsStaleStaging(t *testing.T) {
	root := filepath.Join(t.TempDir(), "lake")
	tmp := filepath.Join(root, "_tmp")
	old := time.Now().Add(-StaleAfter - time.Hour)
	write := func(name string, mod time.Time) {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	write("r1-1.tmp", old)                      // a crashed run's Parquet
	write("spool-1/a", old)                     // a crashed run's spool
	write("spool-2/a", old)                     // a live run's spool, with
	write("spool-2/b", time.Now())              // a file written just now
	write(".put-2", time.Now().Add(-time.Hour)) // a live write
	for _, d := range []string{"spool-1", "spool-2"} {
		if err := os.Chtimes(filepath.Join(tmp, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Local(root)
	if err != nil {
		t.Fatal(err)
	}
	if s.Swept() != 2 {
		t.Errorf("Swept() = %d, want 2", s.Swept())
	}
	var left []string
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(tmp, p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	if want := []string{".put-2", "spool-2/a", "spool-2/b"}; !reflect.DeepEqual(left, want) {
		t.Errorf("left under _tmp: %v, want %v", left, want)
	}
	// Opening it again removes nothing more.
	if s, err = Local(root); err != nil || s.Swept() != 0 {
		t.Errorf("second open: swept %d, err %v", s.Swept(), err)
	}
}
