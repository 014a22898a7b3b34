// Package pybridge embeds CPython 3.11 and runs WSGI applications. It is the
// only package of gohost that uses cgo.
//
// The C half (bridge.c) owns every Python object and every GIL transition;
// the Go half calls it in a few large steps so that a request costs about
// one cgo crossing on the fast path:
//
//	gh_call   take GIL → environ dict from a packed buffer → app(environ,
//	          start_response) → first body chunk(s) → release GIL
//	gh_next   take GIL → next chunk of a streaming body → release GIL
//	gh_finish take GIL → iterable.close() → drop references → release GIL
//
// Between these calls the GIL is free, so the Go side writes response bytes
// (borrowed straight from the Python bytes objects, which the C side keeps
// referenced) and reads request bodies without blocking other Python
// threads. C calls back into Go (exports.go) only with the GIL released.
//
// Threads: one Thread per OS thread that serves requests, each with its own
// PyThreadState, made on first use by Interpreter.ThreadHere; a request is
// served by a goroutine locked to its OS thread (runtime.LockOSThread) from
// gh_call to gh_finish. The interpreter itself lives on another locked
// goroutine (the Python "main thread"), which also imports the application.
package pybridge
