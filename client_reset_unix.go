//go:build unix

package webhook

import (
	"errors"
	"syscall"
)

// connReset reports whether err says the receiver reset the connection.
func connReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
