package logs

import (
	"os"
	"sync"
)

// File is a log destination: a file opened for appending, or a standard
// stream for the path "-". It is safe for concurrent use; each Write is one
// write call on the file.
type File struct {
	path string // "-" for the standard stream

	mu sync.RWMutex // writers hold it shared; Reopen and Close exclusive
	f  *os.File     // guarded by mu; nil after Close
}

// OpenFile opens path for appending, creating it (mode 0666 less the
// umask) if needed; "-" means std, which is never closed.
func OpenFile(path string, std *os.File) (*File, error) {
	if path == "-" {
		return &File{path: path, f: std}, nil
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
}

// Path returns the path the File was opened with ("-" for the stream).
func (l *File) Path() string { return l.path }

// Write writes p with one write call. After Close it returns os.ErrClosed.
func (l *File) Write(p []byte) (int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	return l.f.Write(p)
}

// Reopen opens the path again and switches writers to it, for log rotation:
// lines written after Reopen returns go to the new file. On error the old
// file stays in use. For "-" it does nothing.
func (l *File) Reopen() error {
	if l.path == "-" {
		return nil
	}
	nf, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	if old == nil { // closed
		l.mu.Unlock()
		nf.Close()
		return os.ErrClosed
	}
	l.f = nf
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file (not a standard stream). It is idempotent.
func (l *File) Close() error {
	l.mu.Lock()
	f := l.f
	l.f = nil
	l.mu.Unlock()
	if f == nil || l.path == "-" {
		return nil
	}
	return f.Close()
}
