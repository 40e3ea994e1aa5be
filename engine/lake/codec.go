package lake

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is the Parquet ZSTD codec of every file the lake writes. It
// compresses with zstdEncode: libzstd at level 1 when the build has cgo
// (zstd_cgo.go), else klauspost/compress's pure-Go encoder at
// SpeedFastest (zstd_purego.go). Both write standard zstd frames, and
// pages are decompressed with klauspost/compress's decoder.
type zstdCodec struct {
	decoders sync.Pool
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) { return zstdEncode(dst, src) }

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.decoders.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
	}
	defer c.decoders.Put(d)
	return d.DecodeAll(src, dst[:0])
}
