package tailer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// fingerprintSize is how many leading bytes of a file make its fingerprint.
// The fingerprint grows with the file up to this size, so files smaller than
// it are read at once (unlike Filebeat, which ignores them).
const fingerprintSize = 1024

// fingerprint is a hash of the first n bytes of a file's (decompressed)
// content.
type fingerprint struct {
	n   int
	sum [16]byte
}

func takeFingerprint(prefix []byte) fingerprint {
	if len(prefix) > fingerprintSize {
		prefix = prefix[:fingerprintSize]
	}
	s := sha256.Sum256(prefix)
	var f fingerprint
	f.n = len(prefix)
	copy(f.sum[:], s[:16])
	return f
}

func (f fingerprint) String() string { return hex.EncodeToString(f.sum[:]) }

// contentID is the File.ID ReadFile gives a file: 16 hex digits derived
// from the fingerprint only, so that it is the same on every machine and for
// the .gz of the same content.
func contentID(prefix []byte) string {
	f := takeFingerprint(prefix)
	return hex.EncodeToString(f.sum[:8])
}

// followID is the File.ID the Tailer gives a file when it first sees it:
// device, inode, fingerprint and the moment it was first seen. It is kept in
// the registry, so it stays the same across restarts, renames and
// compression; the time makes a file that reuses an inode and starts with
// the same bytes (a truncated and rewritten file) a different file, whose
// documents must not collide with the old ones' _ids.
func followID(dev, ino uint64, fp fingerprint, firstSeen int64) string {
	var buf [8 + 8 + 8 + 8 + 16]byte
	binary.LittleEndian.PutUint64(buf[0:], dev)
	binary.LittleEndian.PutUint64(buf[8:], ino)
	binary.LittleEndian.PutUint64(buf[16:], uint64(fp.n))
	binary.LittleEndian.PutUint64(buf[24:], uint64(firstSeen))
	copy(buf[32:], fp.sum[:])
	s := sha256.Sum256(buf[:])
	return hex.EncodeToString(s[:8])
}
