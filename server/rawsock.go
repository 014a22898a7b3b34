package server

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawSocket reads and writes a plain socket (TCP or unix, no TLS) with raw
// system calls, still through the Go poller: RawConn.Read and RawConn.Write
// run the call and, when it would block (EAGAIN), park the goroutine until
// the socket is ready, honouring the connection's deadlines as net.Conn does.
//
// Why: the standard library issues every socket read and write through
// syscall.Syscall, which marks the goroutine's P as "in a system call". On a
// worker whose other P is busy, the runtime's monitor thread then takes that
// P away whenever the call outlasts one of its 20 µs ticks (a loopback write
// also delivers the bytes to the reader), and the goroutine has to find a P
// again when the call returns: thread wake-ups on every request. A raw call
// keeps its P; a read or a small write of a non-blocking socket does not
// block, so nothing waits for that P meanwhile. Measured (docs/PERFORMANCE.md,
// "Raw socket calls"): Connection: close +15% requests/s with 15% less CPU
// per request; other workloads unchanged or better.
//
// Writes larger than rawWriteMax go through the standard path: copying
// them takes long enough that the scheduler should be free to hand the P
// to another goroutine meanwhile (raw 64 KiB writes cost the 16 MiB stream
// 6% of its requests/s and 10% more CPU per request).
type rawSocket struct {
	rc  syscall.RawConn
	iov [16]syscall.Iovec // WriteBuffers' vector: responses have a few pieces
}

// rawWriteMax is the largest write issued as a raw system call.
const rawWriteMax = 16 << 10

// rawConnOf returns the raw socket under rwc, or nil when rwc is not a
// plain socket (TLS, a wrapper without a file descriptor).
func rawConnOf(rwc net.Conn) syscall.RawConn {
	switch rwc.(type) {
	case *net.TCPConn, *net.UnixConn, *sockConn:
	default:
		return nil
	}
	rc, err := rwc.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// Read reads what the socket holds, waiting until it holds something.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := s.rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil: // closed, or the read deadline passed
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

// Write writes all of p (at most rawWriteMax bytes: the caller checks),
// waiting for room in the socket's buffer when it is full.
func (s *rawSocket) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	done := 0
	var errno syscall.Errno
	err := s.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			var n uintptr
			n, _, errno = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
			switch errno {
			case 0:
				done += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				errno = 0
				return false // park until writable, then go on
			default:
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("write", errno)
	}
	return done, err
}

// maxIovecs bounds one writev's vector, as the kernel does (UIO_MAXIOV).
const maxIovecs = 1024

// WriteBuffers writes all of v with writev (at most rawWriteMax bytes in
// all: the caller checks), consuming v as net.Buffers.WriteTo does.
func (s *rawSocket) WriteBuffers(v *net.Buffers) (int64, error) {
	var total int64
	var errno syscall.Errno
	// The pooled conn must not keep the response's buffers reachable.
	defer clear(s.iov[:])
	err := s.rc.Write(func(fd uintptr) bool {
		for {
			vec := s.iov[:0]
			for _, b := range *v {
				if len(vec) == maxIovecs {
					break
				}
				if len(b) > 0 {
					vec = append(vec, syscall.Iovec{Base: &b[0], Len: uint64(len(b))})
				}
			}
			if len(vec) == 0 {
				*v = (*v)[:0]
				return true
			}
			var n uintptr
			n, _, errno = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&vec[0])), uintptr(len(vec)))
			switch errno {
			case 0:
				total += int64(n)
				consumeBuffers(v, int64(n))
			case syscall.EINTR:
			case syscall.EAGAIN:
				errno = 0
				return false
			default:
				return true
			}
		}
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("writev", errno)
	}
	return total, err
}

// consumeBuffers drops the first n bytes of v.
func consumeBuffers(v *net.Buffers, n int64) {
	for len(*v) > 0 {
		first := int64(len((*v)[0]))
		if first > n {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= first
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}

// buffersLen is the number of bytes in v.
func buffersLen(v net.Buffers) int {
	n := 0
	for _, b := range v {
		n += len(b)
	}
	return n
}
