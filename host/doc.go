// Package host runs gohost: Main decides whether this process is the master
// (Go only: binds the listeners and supervises workers, see host/master) or
// a worker (embeds Python: loads the app and serves requests on a pool of
// Python threads).
//
// In a worker, a connection goroutine (package server) parses a request and
// hands it to one of the pool's Python threads: a goroutine locked to its
// OS thread that owns a PyThreadState. The thread builds the environ
// (package environ), calls the app through pybridge, writes the response and
// hands the connection back.
package host
