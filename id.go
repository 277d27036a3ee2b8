package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// idEncoding is base32 with Crockford's alphabet in lower case. The alphabet
// is in ASCII order and base32 reads bits most significant first, so encoded
// IDs sort as their bytes do.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID returns prefix + "_" + 26 characters encoding 48 bits of
// milliseconds since the Unix epoch followed by 80 random bits. IDs made in
// different milliseconds sort by time as strings.
func newID(prefix string, now time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(raw[6:]) // crypto/rand.Read never fails (Go 1.24+).
	return prefix + "_" + idEncoding.EncodeToString(raw[:])
}
