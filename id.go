package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// idEncoding is base32 with Crockford's alphabet in lower case. The alphabet
// is in ASCII order and base32 reads bits most significant first, so encoded
// IDs sort as their bytes do.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idGen makes IDs of prefix + "_" + 26 characters encoding 48 bits of
// milliseconds since the Unix epoch and 80 more bits. The first ID of a
// millisecond takes random bits; the next ones in the same millisecond add
// one, so IDs from one generator sort in the order they were made.
type idGen struct {
	mu     sync.Mutex
	lastMS uint64
	hi     uint16 // top 16 of the 80 bits
	lo     uint64 // low 64 of the 80 bits
}

// next returns a new ID for prefix at now.
func (g *idGen) next(prefix string, now time.Time) string {
	var buf [48]byte // prefixes are short: one allocation, the string
	return string(g.append(buf[:0], prefix, now))
}

// idLen is the length of an ID of prefix.
func idLen(prefix string) int { return len(prefix) + 1 + idEncoding.EncodedLen(16) }

// eventIDs returns the IDs Publish needs for an event with n deliveries:
// the event's (eventID, or a new one when it is empty) and n new delivery
// IDs. The new IDs share one string of their exact size: one allocation
// however many there are.
func (g *idGen) eventIDs(eventID string, n int, now time.Time) (string, []string) {
	size := n * idLen("dlv")
	if eventID == "" {
		size += idLen("evt")
	}
	var all strings.Builder
	all.Grow(size)
	var scratch [48]byte
	if eventID == "" {
		all.Write(g.append(scratch[:0], "evt", now))
		eventID = all.String()
	}
	dlvIDs := make([]string, n)
	for i := range dlvIDs {
		from := all.Len()
		all.Write(g.append(scratch[:0], "dlv", now))
		dlvIDs[i] = all.String()[from:]
	}
	return eventID, dlvIDs
}

// append appends a new ID for prefix at now to b.
func (g *idGen) append(b []byte, prefix string, now time.Time) []byte {
	ms := uint64(max(now.UnixMilli(), 0))
	g.mu.Lock()
	if ms <= g.lastMS {
		ms = g.lastMS // a clock that steps back does not break the order.
		g.lo++
		if g.lo == 0 {
			g.hi++
		}
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+).
		g.lastMS = ms
		g.hi = binary.BigEndian.Uint16(r[0:2]) >> 1 // leave room to count up.
		g.lo = binary.BigEndian.Uint64(r[2:10])
	}
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], ms<<16|uint64(g.hi))
	binary.BigEndian.PutUint64(raw[8:16], g.lo)
	g.mu.Unlock()
	b = append(append(b, prefix...), '_')
	return idEncoding.AppendEncode(b, raw[:])
}
