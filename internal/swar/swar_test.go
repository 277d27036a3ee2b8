package swar

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Against the byte-by-byte answers, for every byte value in every position
// among neighbours that could make a borrow go wrong.
func TestAgainstBytewise(t *testing.T) {
	fills := []byte{0x00, 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xff, 'x'}
	for _, fill := range fills {
		for pos := range 8 {
			for v := range 256 {
				b := make([]byte, 8)
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(v)
				x := Load(b, 0)
				for _, c := range []byte{0, '"', '\\', '<', 0xe2, 0xff} {
					want := false
					for _, y := range b {
						want = want || y == c
					}
					require.Equal(t, want, HasByte(x, c), "HasByte(%x, %#x)", b, c)
				}
				for _, n := range []byte{1, 0x20, 0x30, 0x80} {
					want := false
					for _, y := range b {
						want = want || y < n
					}
					require.Equal(t, want, HasLess(x, n), "HasLess(%x, %#x)", b, n)
				}
			}
		}
	}
}

// Random words drawn from bytes near the boundaries, where borrows between
// bytes could mislead the tests.
func TestRandomWords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x5c, 0x7f, 0x80, 0x81, 0xe2, 0xff, 'x', '<'}
	b := make([]byte, 8)
	for range 200_000 {
		for i := range b {
			b[i] = pool[r.IntN(len(pool))]
		}
		x := Load(b, 0)
		for _, c := range []byte{0, '"', '\\', 0xe2} {
			want := false
			for _, y := range b {
				want = want || y == c
			}
			require.Equal(t, want, HasByte(x, c), "HasByte(%x, %#x)", b, c)
		}
		want := false
		for _, y := range b {
			want = want || y < 0x20
		}
		require.Equal(t, want, HasLess(x, 0x20), "HasLess(%x, 0x20)", b)
	}
}

// Index2 against a byte-by-byte search, at every start, in buffers of
// every length up to 24 drawn from bytes near the boundaries.
func TestIndex2(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x5c, 0x7f, 0x80, 0x81, 0xff, 'x'}
	for range 20_000 {
		b := make([]byte, r.IntN(25))
		for i := range b {
			b[i] = pool[r.IntN(len(pool))]
		}
		c1, c2 := pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]
		for i := 0; i <= len(b); i++ {
			want := -1
			for j := i; j < len(b); j++ {
				if b[j] == c1 || b[j] == c2 {
					want = j
					break
				}
			}
			require.Equal(t, want, Index2(b, i, c1, c2), "Index2(%x, %d, %#x, %#x)", b, i, c1, c2)
		}
	}
}
