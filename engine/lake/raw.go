package lake

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/afflake/afflake/engine/storage"
)

// RawMeta is what the raw zone keeps beside a body: the request with
// every secret redacted, the response's status and headers, timing, and
// the spec version that asked.
type RawMeta struct {
	Network   string              `json:"network"`
	AccountID string              `json:"account_id"`
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
	if err := store.Put(ctx, key[:len(key)-len(".gz")]+".meta.json", mb); err != nil {
		return fmt.Errorf("raw %s meta: %w", key, err)
	}
	return nil
}
