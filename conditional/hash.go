package conditional

import (
	"github.com/cespare/xxhash/v2"
)

// BodyETag is the strong ETag computed for a body that came without one:
// the 64-bit xxHash of its bytes in 16 hex digits. xxHash is a fast,
// widely used non-cryptographic hash; an ETag only has to change when
// the bytes do (RFC 9110 §8.8.1), and the bytes are the server's own, so
// no one gains by forging a collision.
func BodyETag(body []byte) string {
	const hexDigits = "0123456789abcdef"
	var b [18]byte
	b[0], b[17] = '"', '"'
	sum := xxhash.Sum64(body)
	for i := 16; i >= 1; i-- {
		b[i] = hexDigits[sum&0xF]
		sum >>= 4
	}
	return string(b[:])
}
