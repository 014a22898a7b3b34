// Package host runs gohost: Main decides whether this process is the master
// (Go only: binds the listeners and supervises workers, see host/master) or
// a worker (embeds Python: loads the app and serves requests, at most
// --threads of them in Python at once).
//
// In a worker, a connection goroutine (package server) parses a request,
// takes one of the pool's tokens and, locked to its OS thread and with that
// thread's PyThreadState, builds the environ (package environ), calls the
// app through pybridge and writes the response.
package host
