//go:build !cgo

package lake

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdEncoder names the encoder a build compresses pages with.
const zstdEncoder = "klauspost-SpeedFastest"

// zstdWindow is the largest match distance: larger than a page (page
// buffers are 64 KiB), so that a page compresses as with the default
// window, without each pooled encoder holding the default 4 MiB window's
// 8 MiB of history. With that window the encoder's low-memory mode saves
// little and costs about 15% of its speed: it is off.
const zstdWindow = 256 << 10

var encoders sync.Pool

// zstdEncode compresses a page of a Parquet file (its ZSTD codec) into
// one standard zstd frame, over dst: with klauspost/compress's pure-Go
// encoder at SpeedFastest, in a build without cgo; with cgo, libzstd
// (zstd_cgo.go).
func zstdEncode(dst, src []byte) ([]byte, error) {
	e, _ := encoders.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, err
		}
	}
	defer encoders.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}
