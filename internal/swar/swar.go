// Package swar tests the eight bytes of a uint64 at once ("SIMD within a
// register"), so that the JSON scanners can skip runs of ordinary bytes
// eight at a time. Each test is exact about whether some byte matches,
// though not about which.
package swar

import "encoding/binary"

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

// HasHigh reports whether a byte of x is 0x80 or more.
func HasHigh(x uint64) bool { return x&high != 0 }

func hasZero(x uint64) bool { return (x-ones)&^x&high != 0 }
