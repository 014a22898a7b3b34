package server

import (
	"log/slog"
	"time"
)

// Defaults of Config (see the field comments in api.go).
const (
	DefaultLimitRequestLine      = 4094
	DefaultLimitRequestFields    = 100
	DefaultLimitRequestFieldSize = 8190
	DefaultBodyPrefetch          = 256 << 10
	DefaultReadHeaderTimeout     = 10 * time.Second
	DefaultBodyReadTimeout       = 60 * time.Second
	DefaultWriteTimeout          = 60 * time.Second
	DefaultKeepAliveTimeout      = 5 * time.Second
	DefaultMaxConnections        = 10000
	DefaultServerHeader          = "gohost"
)

// Internal bounds that are not configurable.
const (
	// hardLineCap bounds a request line when LimitRequestLine is 0
	// ("unlimited"): memory must stay bounded whatever the config says.
	hardLineCap = 1 << 20
	// maxEmptyLines is how many empty lines (CRLF) before a request line are
	// ignored (RFC 9112 §2.2: "SHOULD ignore at least one").
	maxEmptyLines = 8
	// maxChunkLine bounds a chunk-size line with its extensions (and a
	// trailer line): 4 KiB, the size of the connection's read buffer.
	maxChunkLine = readBufSize
	// drainMax is how many unread body bytes are read and discarded after a
	// response to keep the connection alive; more → close instead.
	drainMax = 256 << 10
	// drainTimeout bounds the whole drain.
	drainTimeout = time.Second
	// lingerTimeout bounds how long a closing connection waits for the
	// client to read the last response (see conn.closeGracefully).
	lingerTimeout = 500 * time.Millisecond
	// shutdownGrace is how long Shutdown lets a connection that has just
	// become idle (or was just accepted) send one more request.
	shutdownGrace = time.Second
	// pendingWindow is how long a just-accepted connection counts as
	// pending for AcceptGate unless its first request starts sooner: a
	// real client's request follows its connect within microseconds, and a
	// silent one (idle, slowloris) must hold up accepting only this long.
	pendingWindow = 2 * time.Millisecond
	// queuedAcceptMax is how long an Accept that expects a queued
	// connection (draining after an overdue AcceptGate, or after the gate
	// waited for one) waits before it counts the queue as empty.
	queuedAcceptMax = 500 * time.Microsecond
	// readBufSize is the size of the per-connection bufio.Reader: a
	// default-limit request line (4094 + CRLF) fits exactly.
	readBufSize = 4096
)

// DefaultConfig returns a Config with every field at its documented
// default.
func DefaultConfig() Config {
	return Config{
		LimitRequestLine:      DefaultLimitRequestLine,
		LimitRequestFields:    DefaultLimitRequestFields,
		LimitRequestFieldSize: DefaultLimitRequestFieldSize,
		BodyPrefetch:          DefaultBodyPrefetch,
		ReadHeaderTimeout:     DefaultReadHeaderTimeout,
		BodyReadTimeout:       DefaultBodyReadTimeout,
		WriteTimeout:          DefaultWriteTimeout,
		KeepAliveTimeout:      DefaultKeepAliveTimeout,
		MaxConnections:        DefaultMaxConnections,
		ServerHeader:          DefaultServerHeader,
		H2:                    true,
		ErrorLog:              slog.Default(),
	}
}

// withDefaults fills the zero fields of c that mean "default". The fields
// whose zero value means "unlimited" (LimitRequestLine, LimitRequestBody)
// are kept as they are. Negative limits and timeouts also get the default.
func (c Config) withDefaults() Config {
	if c.LimitRequestLine < 0 {
		c.LimitRequestLine = DefaultLimitRequestLine
	}
	if c.LimitRequestFields <= 0 {
		c.LimitRequestFields = DefaultLimitRequestFields
	}
	if c.LimitRequestFieldSize <= 0 {
		c.LimitRequestFieldSize = DefaultLimitRequestFieldSize
	}
	if c.LimitRequestBody < 0 {
		c.LimitRequestBody = 0
	}
	if c.BodyPrefetch == 0 {
		c.BodyPrefetch = DefaultBodyPrefetch
	} else if c.BodyPrefetch < 0 {
		c.BodyPrefetch = 0 // -1 disables
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.BodyReadTimeout <= 0 {
		c.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.KeepAliveTimeout == 0 {
		c.KeepAliveTimeout = DefaultKeepAliveTimeout
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ServerHeader == "" {
		c.ServerHeader = DefaultServerHeader
	}
	if c.ErrorLog == nil {
		c.ErrorLog = slog.Default()
	}
	return c
}
