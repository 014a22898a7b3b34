//go:build !cgo

package pybridge

import "errors"

// ErrNoCgo explains why a binary built without cgo cannot serve Python.
var ErrNoCgo = errors.New("gohost was built without cgo: rebuild with CGO_ENABLED=1 and Python 3.11 headers (python3-dev)")
