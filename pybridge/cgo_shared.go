//go:build cgo && pyshared

package pybridge

// -tags pyshared: link Debian's libpython3.11.so through pkg-config's
// python3-embed (see cgo.go for the default, static link).

/*
#cgo pkg-config: python3-embed
#cgo CFLAGS: -O2 -Wall -Werror -Wno-unused-function
#include "bridge.h"
*/
import "C"
