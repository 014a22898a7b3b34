package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixed = time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("", 0))

func handle(t *testing.T, h slog.Handler, level slog.Level, msg string, attrs ...slog.Attr) {
	t.Helper()
	r := slog.NewRecord(fixed, level, msg, 0)
	r.AddAttrs(attrs...)
	require.NoError(t, h.Handle(context.Background(), r))
}

func TestHandlerLineFormat(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(&buf, slog.LevelDebug, 4242)
	handle(t, h, slog.LevelInfo, "Listening at: http://127.0.0.1:8000")
	handle(t, h, slog.LevelWarn, "Worker exiting", slog.Int("pid", 17), slog.String("reason", "max requests"))
	handle(t, h, LevelCritical, "WORKER TIMEOUT", slog.Duration("after", 30*time.Second))
	handle(t, h, slog.LevelDebug, "attrs",
		slog.Bool("ok", true), slog.String("empty", ""), slog.String("q", `a"b`),
		slog.String("eq", "a=b"), slog.Any("err", errors.New("boom")),
		slog.Group("req", slog.String("method", "GET"), slog.Int("status", 200)),
		slog.Attr{}) // empty attrs are skipped
	assert.Equal(t, ""+
		"[2026-11-23 12:00:00 +0000] [4242] [INFO] Listening at: http://127.0.0.1:8000\n"+
		"[2026-11-23 12:00:00 +0000] [4242] [WARNING] Worker exiting pid=17 reason=\"max requests\"\n"+
		"[2026-11-23 12:00:00 +0000] [4242] [CRITICAL] WORKER TIMEOUT after=30s\n"+
		"[2026-11-23 12:00:00 +0000] [4242] [DEBUG] attrs ok=true empty=\"\" q=\"a\\\"b\" eq=\"a=b\" err=boom req.method=GET req.status=200\n",
		buf.String())
}

func TestHandlerWithAttrsAndGroup(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(&buf, nil, 7).WithAttrs([]slog.Attr{slog.Int("worker", 2)}).WithGroup("app")
	handle(t, h, slog.LevelError, "failed", slog.String("module", "myapp"))
	assert.Equal(t, "[2026-11-23 12:00:00 +0000] [7] [ERROR] failed worker=2 app.module=myapp\n", buf.String())
}

func TestHandlerDefaultsAndRealLogger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, nil, 0))
	log.Debug("hidden")
	log.Info("shown", "n", 1)
	line := buf.String()
	re := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[(\d+)\] \[INFO\] shown n=1\n$`)
	m := re.FindStringSubmatch(line)
	require.NotNil(t, m, "line %q", line)
	assert.Equal(t, fmt.Sprint(os.Getpid()), m[1])
}

func TestLevels(t *testing.T) {
	for _, name := range Levels {
		l, err := ParseLevel(name)
		require.NoError(t, err)
		assert.Equal(t, strings.ToUpper(name), LevelName(l))
		l2, err := ParseLevel(strings.ToUpper(name))
		require.NoError(t, err)
		assert.Equal(t, l, l2)
	}
	l, err := ParseLevel("warn")
	require.NoError(t, err)
	assert.Equal(t, slog.LevelWarn, l)
	_, err = ParseLevel("verbose")
	assert.EqualError(t, err, `unknown log level "verbose" (want one of debug, info, warning, error, critical)`)
	assert.Equal(t, "INFO", LevelName(slog.LevelInfo+1))
	assert.Equal(t, "CRITICAL", LevelName(LevelCritical+10))

	var buf bytes.Buffer
	h := NewHandler(&buf, slog.LevelError, 1)
	assert.False(t, h.Enabled(context.Background(), slog.LevelWarn))
	assert.True(t, h.Enabled(context.Background(), slog.LevelError))
	assert.True(t, h.Enabled(context.Background(), LevelCritical))
}

func TestErrorLogFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	el, err := OpenErrorLog(path, "warning")
	require.NoError(t, err)
	defer el.Close()

	el.Info("dropped")
	el.Warn("before")
	require.NoError(t, os.Rename(path, path+".1")) // logrotate
	el.Error("still old file")
	require.NoError(t, el.Reopen())
	el.Error("after")
	el.Level.Set(slog.LevelDebug)
	el.Debug("debug now")

	old, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `^\[.*\] \[\d+\] \[WARNING\] before\n\[.*\] \[\d+\] \[ERROR\] still old file\n$`, string(old))
	assert.Regexp(t, `^\[.*\] \[\d+\] \[ERROR\] after\n\[.*\] \[\d+\] \[DEBUG\] debug now\n$`, string(cur))

	require.NoError(t, el.Close())
	require.NoError(t, el.Close(), "Close is idempotent")
	assert.ErrorIs(t, el.Reopen(), os.ErrClosed)
}

func TestOpenErrorLogErrors(t *testing.T) {
	_, err := OpenErrorLog("-", "loud")
	assert.ErrorContains(t, err, `unknown log level "loud"`)
	_, err = OpenErrorLog(filepath.Join(t.TempDir(), "no", "dir.log"), "info")
	assert.ErrorContains(t, err, "error log: open ")
	el, err := OpenErrorLog("-", "info")
	require.NoError(t, err)
	assert.NoError(t, el.Reopen(), "reopening stderr does nothing")
}

// Concurrent writers and reopens: every line lands whole in exactly one file.
func TestFileReopenConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	f, err := OpenFile(path, nil)
	require.NoError(t, err)
	defer f.Close()

	const writers, lines = 4, 500
	line := strings.Repeat("x", 100) + "\n"
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				_, err := f.Write([]byte(line))
				assert.NoError(t, err)
			}
		}()
	}
	rotated := 0
	for i := 0; i < 20; i++ {
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, i)))
		require.NoError(t, f.Reopen())
		rotated++
	}
	wg.Wait()

	total := 0
	check := func(p string) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if l == "" {
				continue
			}
			require.Equal(t, line, l, "torn line in %s", p)
			total++
		}
	}
	check(path)
	for i := 0; i < rotated; i++ {
		check(fmt.Sprintf("%s.%d", path, i))
	}
	assert.Equal(t, writers*lines, total)
}
