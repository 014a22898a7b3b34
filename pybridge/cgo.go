//go:build cgo && !pyshared

package pybridge

// The cgo flags live here (and in cgo_shared.go). CPython is Debian's 3.11
// (python3-dev), linked statically from libpython3.11-pic.a, as Debian's own
// /usr/bin/python3.11 is: calls inside the interpreter are then direct rather
// than through the shared library's PLT and GOT, which made the Django
// benchmark ~14% faster per request (docs/PERFORMANCE.md, "Static
// libpython"). --export-dynamic puts the Py* symbols in the dynamic symbol
// table, where extension modules (lib-dynload/*.so, C wheels) find them;
// Go's own symbols are not exported. Build with -tags pyshared to link
// libpython3.11.so through pkg-config python3-embed instead.

/*
#cgo CFLAGS: -I/usr/include/python3.11 -O2 -Wall -Werror -Wno-unused-function
#cgo LDFLAGS: -L/usr/lib/python3.11/config-3.11-x86_64-linux-gnu -l:libpython3.11-pic.a
#cgo LDFLAGS: -lm -lz -lexpat -ldl -lpthread -lutil -Wl,--export-dynamic
#include "bridge.h"
*/
import "C"
