package server

import "strconv"

// ConnState is the lifecycle of one client connection. Transitions, all made
// by conn.setState (or, for Idle/New → Closed during Shutdown, by a CAS in
// Server.closeIdleConns):
//
//	New      → Reading  first byte of the first request arrived
//	New      → Closed   no request (timeout, EOF, shutdown)
//	Reading  → Active   head valid (and small body prefetched): handler runs
//	Reading  → Closed   bad request answered by the server, or client gone
//	Active   → Idle     response complete, connection kept alive
//	Active   → Closed   response complete (or failed), connection closing
//	Idle     → Reading  first byte of the next request arrived
//	Idle     → Closed   keep-alive timeout, EOF, shutdown
//	New      → Active   HTTP/2 (ALPN "h2", or the h2c preface): the
//	                    connection stays Active, however many streams it
//	                    carries, until it closes
//
// Shutdown closes connections in New and Idle at once and lets Reading and
// Active ones finish their current response (HTTP/2 ones get a GOAWAY and
// finish their open streams).
type ConnState int32

const (
	StateNew ConnState = iota
	StateReading
	StateActive
	StateIdle
	StateClosed
)

func (s ConnState) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateReading:
		return "reading"
	case StateActive:
		return "active"
	case StateIdle:
		return "idle"
	case StateClosed:
		return "closed"
	}
	return "ConnState(" + strconv.Itoa(int(s)) + ")"
}
