package boltstore

import "errors"

// Errors returned by Open, New and the Store's methods. They are wrapped
// with detail; test for them with errors.Is.
var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("boltstore: store is closed")

	// ErrForeignFile is returned by Open and New for a bbolt file that holds
	// other data than a webhook store (its buckets are not ours), or a file
	// that is not a bbolt database at all, or one that is torn or corrupt.
	// The file is left untouched.
	ErrForeignFile = errors.New("boltstore: not a webhook store file")

	// ErrNewerSchema is returned by Open and New for a file written by a
	// newer release of this package, whose layout this one cannot read.
	// The file is left untouched: upgrade the program instead.
	ErrNewerSchema = errors.New("boltstore: file written by a newer release")
)
