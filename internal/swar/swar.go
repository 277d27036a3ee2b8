// Package swar tests the eight bytes of a uint64 at once ("SIMD within a
// register"), so that the JSON scanners can skip runs of ordinary bytes
// eight at a time. Each test is exact about whether some byte matches,
// though not about which; Index2 finds the first.
package swar

import (
	"encoding/binary"
	"math/bits"
)

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// Load returns the eight bytes of b at i, which must be in range.
func Load(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// HasByte reports whether a byte of x equals c.
func HasByte(x uint64, c byte) bool { return hasZero(x ^ (ones * uint64(c))) }

// HasLess reports whether a byte of x is less than n, for n <= 128.
func HasLess(x uint64, n byte) bool { return (x-ones*uint64(n))&^x&high != 0 }

func hasZero(x uint64) bool { return zeros(x) != 0 }

// zeros has the high bit of each zero byte of x set, and may have it set
// in bytes above a zero byte (a borrow), but never below the lowest one:
// its lowest set bit is the first zero byte's.
func zeros(x uint64) uint64 { return (x - ones) &^ x & high }

// Index2 returns the index of the first byte of b at or after i that is c1
// or c2, or -1 when there is none.
func Index2(b []byte, i int, c1, c2 byte) int {
	p1, p2 := ones*uint64(c1), ones*uint64(c2)
	for ; i+8 <= len(b); i += 8 {
		x := Load(b, i)
		if m := zeros(x^p1) | zeros(x^p2); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == c1 || b[i] == c2 {
			return i
		}
	}
	return -1
}
