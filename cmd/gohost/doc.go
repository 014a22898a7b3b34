// Command gohost serves a Python WSGI application: a drop-in replacement for
// gunicorn with an HTTP front end in Go and CPython 3.11 embedded in each
// worker process.
//
//	gohost [OPTIONS] APP        e.g. gohost -w 4 -b 0.0.0.0:8000 myproject.wsgi:application
//
// Settings come from built-in defaults, a TOML config file (-c), GOHOST_*
// environment variables and flags, each overriding the ones before; see
// `gohost --help` and docs/CONFIG.md.
//
// Exit status: 0 after a clean stop or --help/--version/--print-config; 2 for
// a usage or configuration error (printed as one line "gohost: …"); other
// codes as returned by host.Main.
package main
