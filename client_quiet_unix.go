//go:build unix

package webhook

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// quiet reports whether an idle connection has nothing to read and is
// still open, with one non-blocking peek at its socket: a receiver that
// closed it, or sent bytes nobody asked for, makes it unfit for the next
// request.
func quiet(conn net.Conn) bool {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var buf [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		// A byte, or 0 bytes and no error (closed), makes it unfit.
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
		return true
	}); err != nil {
		return false
	}
	return ok
}
