package lake

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdEncode compresses pages of the shapes a lake writes and checks
// that each is one standard zstd frame that a plain decoder reads back.
func TestZstdEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 70<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	json := strings.Repeat(`{"id":900000003,"commissionStatus":"pending","saleAmount":{"amount":19.99,"currency":"GBP"},"url":"https://example.com/ü"},`, 600)
	pages := map[string][]byte{
		"empty":      {},
		"one byte":   {'x'},
		"json page":  []byte(json[:64<<10]),
		"json long":  []byte(json),
		"random":     noise,
		"zeros":      make([]byte, 64<<10),
		"int64s":     bytes.Repeat([]byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, 4096),
		"short text": []byte("awin"),
	}
	plain, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	// A reused destination buffer, as the page writer passes one.
	dst := make([]byte, 0, 1<<10)
	for name, page := range pages {
		for range 2 {
			var err error
			dst, err = zstdEncode(dst, page)
			if err != nil {
				t.Fatalf("%s: encode: %v", name, err)
			}
			other, err := plain.DecodeAll(dst, nil)
			if err != nil || !bytes.Equal(other, page) {
				t.Fatalf("%s: a plain zstd decoder: %v, %d bytes back of %d", name, err, len(other), len(page))
			}
		}
		if name == "json page" && len(dst)*8 > len(page) {
			t.Errorf("%s: %d bytes compressed to %d, want at least 8:1", name, len(page), len(dst))
		}
	}
}

// BenchmarkZstdEncode compresses 64 KiB pages of Awin-like JSON records,
// the bulk of what a transform compresses (the raw_record column).
func BenchmarkZstdEncode(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 64<<10; i++ {
		sb.WriteString(`{"id":`)
		sb.WriteString(strings.Repeat("9", 3+i%5))
		sb.WriteString(`,"url":"https://www.example-publisher.co.uk/reviews/`)
		sb.WriteString(strings.Repeat("ab", i%7))
		sb.WriteString(`","commissionStatus":"pending","commissionAmount":{"amount":4.26,"currency":"GBP"},"saleAmount":{"amount":19.99,"currency":"GBP"},"clickRefs":{"clickRef":"newsletter-`)
		sb.WriteString(strings.Repeat("x", i%11))
		sb.WriteString(`"},"transactionDate":"2026-10-01T09:02:41"},`)
	}
	page := []byte(sb.String())
	b.Run(zstdEncoder, func(b *testing.B) {
		var dst []byte
		b.SetBytes(int64(len(page)))
		for i := 0; i < b.N; i++ {
			var err error
			if dst, err = zstdEncode(dst, page); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(page))/float64(len(dst)), "ratio")
	})
}
