//go:build cgo

package lake

import (
	"sync"

	"github.com/DataDog/zstd"
)

// zstdEncoder names the encoder a build compresses pages with.
const zstdEncoder = "libzstd-level-1"

// zstdLevel is libzstd's fastest regular level. On the JSON pages of a
// network's table it compresses about as small as the pure-Go encoder
// at SpeedFastest, at nearly twice its speed. Its frames carry no
// checksum; each page is one frame.
const zstdLevel = 1

// cctxs pools libzstd compression contexts: one is used by one goroutine
// at a time, and keeps its tables from page to page.
var cctxs sync.Pool

// zstdEncode compresses a page of a Parquet file (its ZSTD codec) into
// one standard zstd frame, over dst: with libzstd at level 1; without
// cgo, klauspost/compress's pure-Go encoder (zstd_purego.go).
func zstdEncode(dst, src []byte) ([]byte, error) {
	c, _ := cctxs.Get().(zstd.Ctx)
	if c == nil {
		c = zstd.NewCtx()
	}
	defer cctxs.Put(c)
	return c.CompressLevel(dst[:0], src, zstdLevel)
}
