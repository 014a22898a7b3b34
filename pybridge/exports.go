//go:build cgo

package pybridge

// Callbacks from C. C calls them with the GIL released and identifies the
// request by thread index and generation, never by Go pointer.

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"io"
	"unsafe"
)

// Codes returned to C by ghGoRead; bridge.c maps them to exceptions.
const (
	readError    = -1
	readTimeout  = -2
	readTooLarge = -3
	readStale    = -4
)

//export ghGoRead
func ghGoRead(idx C.int, gen C.ulonglong, buf *C.char, n C.Py_ssize_t) C.Py_ssize_t {
	t := lookup(idx)
	if t == nil || t.ex == nil || t.gen != uint64(gen) {
		return readStale
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	got, err := t.ex.ReadBody(p)
	if got > 0 || err == nil {
		return C.Py_ssize_t(got) // an error with data comes back on the next call
	}
	if errors.Is(err, io.EOF) {
		return 0
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return readTimeout
	}
	var status interface{ StatusCode() int }
	if errors.As(err, &status) && status.StatusCode() == 413 {
		return readTooLarge
	}
	return readError
}

//export ghGoWrite
func ghGoWrite(idx C.int, gen C.ulonglong, p *C.char, n C.Py_ssize_t) C.int {
	t := lookup(idx)
	if t == nil || t.ex == nil || t.gen != uint64(gen) {
		return -1
	}
	if !t.start(-1) {
		return -1
	}
	if n == 0 {
		return 0
	}
	if t.ex.Write(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))) != nil {
		return -1
	}
	return 0
}

//export ghGoLog
func ghGoLog(p *C.char, n C.Py_ssize_t) {
	if errorLog != nil {
		errorLog(C.GoStringN(p, C.int(n)))
	}
}
