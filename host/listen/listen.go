package listen

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// SocketMode is the permission of a unix socket file created by Listen:
// gunicorn's, whose default umask of 0 leaves sockets world-connectable.
// Restrict access with the directory's permissions.
const SocketMode fs.FileMode = 0o777

// BindError is a failed bind, printed as one line:
// "bind 127.0.0.1:8000: address already in use".
type BindError struct {
	Bind string // the bind as given (canonical form)
	Err  error  // the cause, syscall.Errno where there is one
}

func (e *BindError) Error() string { return "bind " + e.Bind + ": " + e.Err.Error() }
func (e *BindError) Unwrap() error { return e.Err }

// bindError strips net.OpError and os.SyscallError, whose messages repeat
// the operation and address, down to the cause.
func bindError(bind string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	var sc *os.SyscallError
	if errors.As(err, &sc) {
		err = sc.Err
	}
	return &BindError{Bind: bind, Err: err}
}

// Listen opens one listener per bind, in order. On any failure it closes the
// ones already opened and returns the failing bind's error.
//
// TCP listeners have SO_REUSEADDR (Go's default), so a restarted server can
// bind while old connections sit in TIME_WAIT. A unix socket's stale file is
// removed first if nothing accepts connections on it; a live one is "address
// already in use". Closing a unix listener returned here removes its file.
func Listen(binds []string) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(binds))
	for _, b := range binds {
		ln, err := listenOne(b)
		if err != nil {
			closeAll(lns)
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func listenOne(bind string) (net.Listener, error) {
	a, err := Parse(bind)
	if err != nil {
		return nil, err
	}
	switch a.Network {
	case Unix:
		return listenUnix(a)
	case FD:
		f := os.NewFile(uintptr(a.FD), a.String())
		if f == nil {
			return nil, &BindError{Bind: a.String(), Err: syscall.EBADF}
		}
		return fileListener(a.String(), f)
	default:
		ln, err := net.Listen("tcp", a.Address)
		if err != nil {
			return nil, bindError(a.String(), err)
		}
		return ln, nil
	}
}

func listenUnix(a Addr) (net.Listener, error) {
	if err := removeStale(a.Address); err != nil {
		return nil, bindError(a.String(), err)
	}
	ln, err := net.Listen("unix", a.Address)
	if err != nil {
		return nil, bindError(a.String(), err)
	}
	if err := os.Chmod(a.Address, SocketMode); err != nil {
		ln.Close()
		return nil, bindError(a.String(), err)
	}
	return ln, nil
}

// removeStale removes a leftover socket file at path so it can be bound
// again, only when it is a socket and a connect is refused (no process
// listens). Anything else at path is left alone and reported.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return errors.New("file exists and is not a socket")
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return syscall.EADDRINUSE
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// Not clearly dead (e.g. a full backlog times out): keep it.
		return syscall.EADDRINUSE
	}
	return os.Remove(path)
}

// fileListener makes a listener from an inherited descriptor and closes f
// (net.FileListener works on a duplicate).
func fileListener(name string, f *os.File) (net.Listener, error) {
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, bindError(name, err)
	}
	return ln, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// Files returns a duplicate descriptor of each listener, in order, for
// exec.Cmd.ExtraFiles: the first becomes fd 3 in the child. The caller closes
// the files after starting the child.
//
// Closing a unix listener made by Listen removes its socket file, which would
// leave the children's copies unreachable: keep the listeners open until
// shutdown (closing them then removes the file, as gunicorn does on exit), or
// call (*net.UnixListener).SetUnlinkOnClose(false) first.
func Files(lns []net.Listener) ([]*os.File, error) {
	files := make([]*os.File, 0, len(lns))
	for _, ln := range lns {
		fl, ok := ln.(interface{ File() (*os.File, error) })
		if !ok {
			closeFiles(files)
			return nil, fmt.Errorf("listener %s (%T) has no file descriptor", ln.Addr(), ln)
		}
		f, err := fl.File()
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("listener %s: %w", ln.Addr(), err)
		}
		files = append(files, f)
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// FromInherited rebuilds n listeners from descriptors firstFD … firstFD+n-1,
// as a worker started with Files sees them (firstFD 3). The descriptors are
// consumed: closed after duplication and marked close-on-exec.
func FromInherited(n, firstFD int) ([]net.Listener, error) {
	if n < 0 || firstFD < 0 {
		return nil, fmt.Errorf("inherited listeners: bad count %d or first fd %d", n, firstFD)
	}
	lns := make([]net.Listener, 0, n)
	for fd := firstFD; fd < firstFD+n; fd++ {
		name := "fd://" + strconv.Itoa(fd)
		syscall.CloseOnExec(fd)
		ln, err := fileListener(name, os.NewFile(uintptr(fd), name))
		if err != nil {
			closeAll(lns)
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}
