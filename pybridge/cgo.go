//go:build cgo && !pyshared

package pybridge

// The cgo flags live here (and in cgo_shared.go). CPython is Debian's 3.11
// (python3-dev), linked statically from libpython3.11.a, the position-
// dependent build that Debian's own /usr/bin/python3.11 (not a PIE) is made
// of. Static, calls inside the interpreter are direct rather than through
// the shared library's PLT and GOT (Django ~14% faster per request);
// position-dependent, the compiler could inline and call directly between
// CPython's exported functions, which -fPIC's interposable symbols forbid
// (Flask and Django another ~10%: docs/PERFORMANCE.md, "Static libpython").
// That needs a non-PIE executable, Go's default on linux/amd64;
// -buildmode=pie cannot link it (use -tags pyshared). --export-dynamic puts
// the Py* symbols in the dynamic symbol table, where extension modules
// (lib-dynload/*.so, C wheels) find them; Go's own symbols are not
// exported. Build with -tags pyshared to link libpython3.11.so through
// pkg-config python3-embed instead.

/*
#cgo CFLAGS: -I/usr/include/python3.11 -O2 -Wall -Werror -Wno-unused-function
#cgo LDFLAGS: -L/usr/lib/python3.11/config-3.11-x86_64-linux-gnu -l:libpython3.11.a
#cgo LDFLAGS: -lm -lz -lexpat -ldl -lpthread -lutil -Wl,--export-dynamic
#include "bridge.h"
*/
import "C"
