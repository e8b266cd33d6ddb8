package sample

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/traceship/shipper"
)

// threshold is a ratio turned into the OpenTelemetry SDK's upper bound: a
// trace is kept when the 63 random bits taken from its id are below it.
type threshold struct {
	all   bool   // ratio >= 1: keep everything without looking at the id
	bound uint64 // uint64(ratio * 2^63); 0 keeps nothing
}

// newThreshold mirrors go.opentelemetry.io/otel/sdk/trace.TraceIDRatioBased:
// fractions >= 1 always sample, fractions <= 0 are treated as zero, and
// otherwise the bound is uint64(fraction * (1 << 63)), the float conversion
// truncating as the SDK's does.
func newThreshold(ratio float64) threshold {
	if ratio >= 1 {
		return threshold{all: true}
	}
	if !(ratio > 0) { // also NaN, which Validate rejects anyway
		return threshold{}
	}
	return threshold{bound: uint64(ratio * (1 << 63))}
}

// keepTrace is the SDK's decision for trace id t: the last 8 bytes of the id,
// big-endian, shifted right by one, compared with the bound. (The SDK reads
// the right-most bytes because W3C Trace Context level 2 makes those the
// random ones.)
func (th threshold) keepTrace(t *shipper.TraceID) bool {
	if th.all {
		return true
	}
	return binary.BigEndian.Uint64(t[8:16])>>1 < th.bound
}

// keepHash is the same rule for an event without a trace id, applied to a
// 64-bit hash of its raw line.
func (th threshold) keepHash(h uint64) bool {
	if th.all {
		return true
	}
	return h>>1 < th.bound
}

// castagnoli is the CRC-32C table; crc32 uses the CPU's CRC instruction
// for it where there is one (SSE 4.2, ARMv8), about 20 times faster than
// hashing byte by byte.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// lineHash is a hash of a raw line that is the same in every process, on
// every platform and in every version of the agent, so that a dry-run or a
// restart takes the same decisions: the line's CRC-32C and its length,
// mixed by murmur3's 64-bit finaliser so that the high bits the threshold
// reads depend on every bit of the line.
func lineHash(p []byte) uint64 {
	return mix64(uint64(crc32.Checksum(p, castagnoli)) | uint64(len(p))<<32)
}

// mix64 is murmur3's fmix64: a bijection in which every input bit affects
// every output bit.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
