//go:build cgo

package pybridge

// The cgo flags live here alone. Python comes from Debian's python3-dev
// through pkg-config's python3-embed (which adds -lpython3.11).

/*
#cgo pkg-config: python3-embed
#cgo CFLAGS: -O2 -Wall -Werror -Wno-unused-function
#include "bridge.h"
*/
import "C"
