package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// LevelCritical is gunicorn's critical level, above slog.LevelError.
const LevelCritical slog.Level = slog.LevelError + 4

// Levels are the --log-level names, lowest first.
var Levels = []string{"debug", "info", "warning", "error", "critical"}

// ParseLevel maps a --log-level name (any case; "warn" too) to its level.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "critical":
		return LevelCritical, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want one of %s)", name, strings.Join(Levels, ", "))
}

// LevelName is the name printed for l: DEBUG, INFO, WARNING, ERROR or
// CRITICAL; a level between two names takes the lower one.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	case l < LevelCritical:
		return "ERROR"
	}
	return "CRITICAL"
}

// Handler is a slog.Handler printing gunicorn's error log line:
//
//	[2006-01-02 15:04:05 -0700] [PID] [LEVEL] message key=value key="a value"
//
// Time is local, as gunicorn prints it. Attributes follow the message as
// key=value, groups as group.key=value; values with spaces, quotes, '=' or
// control characters are Go-quoted. Each record is one Write.
type Handler struct {
	w      io.Writer
	level  slog.Leveler
	pid    []byte // "[4242] "
	prefix string // preformatted attrs from WithAttrs, each " key=value"
	group  string // "a.b." from WithGroup
}

// NewHandler returns a Handler writing to w records at or above level
// (nil: info). pid is printed in each line; 0 means os.Getpid().
func NewHandler(w io.Writer, level slog.Leveler, pid int) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	if pid == 0 {
		pid = os.Getpid()
	}
	return &Handler{w: w, level: level, pid: []byte("[" + strconv.Itoa(pid) + "] ")}
}

func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b = append(b, '[')
	b = t.AppendFormat(b, "2006-01-02 15:04:05 -0700")
	b = append(b, "] "...)
	b = append(b, h.pid...)
	b = append(b, '[')
	b = append(b, LevelName(r.Level)...)
	b = append(b, "] "...)
	b = append(b, r.Message...)
	b = append(b, h.prefix...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	b = append(b, '\n')
	*bp = b
	_, err := h.w.Write(b)
	return err
}

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	b := []byte(h.prefix)
	for _, a := range as {
		b = appendAttr(b, h.group, a)
	}
	h2.prefix = string(b)
	return &h2
}

func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr appends " group.key=value", flattening groups; empty attrs are
// skipped as slog.Handler requires.
func appendAttr(b []byte, group string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			b = appendAttr(b, g, ga)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, group...)
	b = append(b, a.Key...)
	b = append(b, '=')
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindTime:
		s = a.Value.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			s = err.Error()
		} else {
			s = fmt.Sprint(a.Value.Any())
		}
	default: // numbers, bools, durations
		s = a.Value.String()
	}
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// ErrorLog is the error log: a *slog.Logger over a reopenable File, with a
// level that can be changed while running.
type ErrorLog struct {
	*slog.Logger
	Level *slog.LevelVar // the threshold; Set it to change the level
	file  *File
}

// OpenErrorLog opens the error log at path ("-": stderr) at the --log-level
// named level.
func OpenErrorLog(path, level string) (*ErrorLog, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	f, err := OpenFile(path, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("error log: %w", err)
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	return &ErrorLog{Logger: slog.New(NewHandler(f, lv, 0)), Level: lv, file: f}, nil
}

// Reopen reopens the log file at its path (SIGUSR1 after rotation). Safe
// while other goroutines log.
func (e *ErrorLog) Reopen() error { return e.file.Reopen() }

// Close closes the log file; later records are dropped.
func (e *ErrorLog) Close() error { return e.file.Close() }
