package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/afflake/afflake/engine/row"
)

// Buckets is how many parts a network's index and current table are
// split into, by a hash of (account, transaction id): the unit of memory
// and of rewriting.
const Buckets = 64

// bucketOf places a transaction in its bucket.
func bucketOf(account, txID string) int {
	h := fnv.New32a()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(txID))
	return int(h.Sum32() % Buckets)
}

// Spool keeps a run's unified rows on local disk (JSON lines, which keep
// an empty string apart from null), one file per bucket,
// until change detection reads them back bucket by bucket. It is safe for
// concurrent use.
type Spool struct {
	dir  string
	mu   sync.Mutex
	fs   [Buckets]*os.File
	bw   [Buckets]*bufio.Writer
	enc  [Buckets]*json.Encoder
	rows int64
}

// NewSpool creates a spool in a new directory under dir.
func NewSpool(dir string) (*Spool, error) {
	d, err := os.MkdirTemp(dir, "spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Spool{dir: d}, nil
}

// WriteUnified appends rows.
func (s *Spool) WriteUnified(rows []row.Unified) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rows {
		b := bucketOf(rows[i].AccountID, rows[i].TransactionID)
		if s.enc[b] == nil {
			f, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("%02d.jsonl", b)))
			if err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			s.fs[b], s.bw[b] = f, bufio.NewWriterSize(f, 64<<10)
			s.enc[b] = json.NewEncoder(s.bw[b])
		}
		if err := s.enc[b].Encode(&rows[i]); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.rows++
	}
	return nil
}

// Rows is how many rows were spooled.
func (s *Spool) Rows() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rows
}

// finish flushes every bucket file.
func (s *Spool) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := range s.fs {
		if s.bw[b] == nil {
			continue
		}
		if err := s.bw[b].Flush(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// buckets lists the buckets that hold rows.
func (s *Spool) buckets() []int {
	var out []int
	for b := range s.fs {
		if s.fs[b] != nil {
			out = append(out, b)
		}
	}
	return out
}

// read returns a bucket's rows in the order they were written.
func (s *Spool) read(b int) ([]row.Unified, error) {
	if s.fs[b] == nil {
		return nil, nil
	}
	f, err := os.Open(s.fs[b].Name())
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	var out []row.Unified
	for {
		var u row.Unified
		if err := dec.Decode(&u); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("spool: %w", err)
		}
		out = append(out, u)
	}
}

// Remove deletes the spool's files.
func (s *Spool) Remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := range s.fs {
		if s.fs[b] != nil {
			s.fs[b].Close()
		}
	}
	os.RemoveAll(s.dir)
}
