//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris || illumos

package webhook

import (
	"errors"
	"net"
	"syscall"
)

// socketQuiet reports whether conn's socket has nothing to read and is
// still open, with one non-blocking peek: a byte waiting, or the end of
// the stream, makes the connection unfit for the next request.
func socketQuiet(conn net.Conn) bool {
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
		for {
			_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			ok = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
			return true
		}
	}); err != nil {
		return false
	}
	return ok
}
