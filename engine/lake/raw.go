package lake

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/storage"
)

// RawMeta is what the raw zone keeps beside a body: the request with
// every secret redacted, the response's status and headers, timing, and
// the spec version that asked.
type RawMeta struct {
	Network   string `json:"network"`
	AccountID string `json:"account_id"`
	// Account is the account's configuration other than its secrets
	// (currency, extra values): what a replay needs to map the body again.
	Account   map[string]string   `json:"account,omitempty"`
	RunID     string              `json:"run_id"`
	Window    string              `json:"window"`
	Page      int                 `json:"page"`
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	ReqHeader map[string][]string `json:"request_headers,omitempty"`
	ReqBody   string              `json:"request_body,omitempty"`
	Status    int                 `json:"status"`
	Header    map[string][]string `json:"response_headers,omitempty"`
	Started   time.Time           `json:"started_at"`
	Duration  float64             `json:"duration_seconds"`
	Attempts  int                 `json:"attempts"`
	Bytes     int                 `json:"bytes"`
	SpecHash  string              `json:"spec_hash"`
}

// Received is when the body was received: the request's start plus its
// duration, in UTC; zero when the meta has no start.
func (m RawMeta) Received() time.Time {
	if m.Started.IsZero() {
		return time.Time{}
	}
	return m.Started.Add(time.Duration(m.Duration * float64(time.Second))).UTC()
}

// RawKey is the key of one raw body in the lake:
// raw/network=<n>/account=<a>/ingest_date=<YYYY-MM-DD>/<run_id>/<seq>.<ext>.gz
func RawKey(network, account string, ingest time.Time, runID string, seq int, ext string) string {
	return fmt.Sprintf("raw/network=%s/account=%s/ingest_date=%s/%s/%06d.%s.gz",
		network, url.PathEscape(account), ingest.UTC().Format(time.DateOnly), runID, seq, ext)
}

// PutRaw stores a body, gzipped, and its .meta.json beside it, before
// anything parses the body.
func PutRaw(ctx context.Context, store storage.Store, key string, body []byte, meta RawMeta) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(body); err != nil {
		return fmt.Errorf("raw %s: %w", key, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("raw %s: %w", key, err)
	}
	if err := store.Put(ctx, key, buf.Bytes()); err != nil {
		return fmt.Errorf("raw %s: %w", key, err)
	}
	meta.Bytes = len(body)
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := store.Put(ctx, MetaKey(key), mb); err != nil {
		return fmt.Errorf("raw %s meta: %w", key, err)
	}
	return nil
}

// RawRef is a raw body's place in the lake, parsed from its key.
type RawRef struct {
	Key, Network, Account, RunID string
	Ingest                       time.Time
	Seq                          int
}

// ParseRawKey reads a key written by RawKey; ok is false for other keys
// (the .meta.json files among them).
func ParseRawKey(key string) (RawRef, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 6 || parts[0] != "raw" || !strings.HasSuffix(parts[5], ".gz") {
		return RawRef{}, false
	}
	net, ok1 := strings.CutPrefix(parts[1], "network=")
	acct, ok2 := strings.CutPrefix(parts[2], "account=")
	day, ok3 := strings.CutPrefix(parts[3], "ingest_date=")
	if !ok1 || !ok2 || !ok3 {
		return RawRef{}, false
	}
	ingest, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return RawRef{}, false
	}
	acct, err = url.PathUnescape(acct)
	if err != nil {
		return RawRef{}, false
	}
	seqText, _, _ := strings.Cut(parts[5], ".")
	seq, err := strconv.Atoi(seqText)
	if err != nil {
		return RawRef{}, false
	}
	return RawRef{Key: key, Network: net, Account: acct, RunID: parts[4], Ingest: ingest, Seq: seq}, true
}

// MetaKey is the key of a raw body's .meta.json.
func MetaKey(rawKey string) string { return strings.TrimSuffix(rawKey, ".gz") + ".meta.json" }

// GetMeta reads the meta of the raw body under key.
func GetMeta(ctx context.Context, store storage.Store, key string) (RawMeta, error) {
	var meta RawMeta
	mb, err := store.Get(ctx, MetaKey(key))
	if err == nil {
		err = json.Unmarshal(mb, &meta)
	}
	if err != nil {
		return meta, fmt.Errorf("raw %s meta: %w", key, err)
	}
	return meta, nil
}
