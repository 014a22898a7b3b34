package e2e

// The command line (issue 3, points 1, 2 and 7): app loading forms and
// failures, --chdir/--pythonpath/--virtualenv, binds, logs, --version/--help,
// bad flags, port in use.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCLIAppForms(t *testing.T) {
	for _, tc := range []struct{ app, path, want string }{
		{"echo:application", "/", "echo app"},
		{"echo", "/", "echo app"},
		{"simple:app", "/", "simple app"},
		{"pkg.sub:application", "/", "pkg.sub app"},
		{"pkg.sub", "/", "pkg.sub app"},
		{"factory:create_app()", "/", "hello x1"},
		{"factory:create_app('hi', n=3)", "/", "hi x3"},
		{`factory:create_app("dq", n=2)`, "/", "dq x2"},
	} {
		t.Run(tc.app, func(t *testing.T) {
			s := startServer(t, ServerOpts{App: tc.app})
			resp, b := s.Get(t, tc.path)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, tc.want, string(b))
		})
	}
}

// runUntilExit runs gohost expecting it to exit; it also checks that nothing
// ever accepted connections on port while it ran.
func runUntilExit(t *testing.T, port int, env []string, dir string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(gohostBin, args...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = append(baseEnv(false), env...)
	var so, se syncBuffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	deadline := time.After(20 * time.Second)
	listened := false
	var err error
loop:
	for {
		select {
		case err = <-done:
			break loop
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Fatalf("gohost %q did not exit within 20s\nstderr:\n%s", args, tail(se.String(), 4000))
		case <-time.After(20 * time.Millisecond):
			if port > 0 {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
					c.Close()
					listened = true
				}
			}
		}
	}
	assert.False(t, listened, "gohost %q accepted connections before failing", args)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v", err)
		code = ee.ExitCode()
	}
	return runResult{Code: code, Stdout: so.String(), Stderr: se.String()}
}

func TestCLIAppLoadFailures(t *testing.T) {
	for _, tc := range []struct {
		app       string
		want      []string
		traceback bool
	}{
		{"broken_syntax", []string{"SyntaxError", "broken_syntax.py"}, true},
		{"broken_import:application", []string{"gohost_definitely_missing_dependency", "broken_import.py"}, true},
		{"notcallable", []string{"callable"}, false},
		{"no_such_module_xyz:application", []string{"no_such_module_xyz"}, false},
		{"simple:nope", []string{"nope"}, false},
		{"factory:not_a_factory_result()", []string{"callable"}, false},
		{"factory:create_app(__import__('os').getpid())", []string{"create_app"}, false},
	} {
		t.Run(tc.app, func(t *testing.T) {
			port := freePort(t, "127.0.0.1")
			res := runUntilExit(t, port, nil, "", "-w", "1", "-b", fmt.Sprintf("127.0.0.1:%d", port), "--chdir", testAppsDir, tc.app)
			assert.NotEqual(t, 0, res.Code, "loading %q must fail", tc.app)
			for _, w := range tc.want {
				assert.Contains(t, res.Stderr, w)
			}
			assert.NotContains(t, res.Stderr, "panic:", "a load failure is not a Go panic")
			assert.NotContains(t, res.Stderr, "goroutine ")
			tb := strings.Count(res.Stderr, "Traceback (most recent call last)")
			if tc.traceback {
				assert.Equal(t, 1, tb, "the traceback is printed once (no respawn loop)")
			} else {
				assert.LessOrEqual(t, tb, 1)
			}
			// "One clear line": the first line that names the app.
			named := 0
			for _, l := range nonEmptyLines(res.Stderr) {
				if strings.Contains(l, strings.SplitN(tc.app, ":", 2)[0]) && !strings.HasPrefix(strings.TrimSpace(l), "File ") {
					named++
				}
			}
			assert.GreaterOrEqual(t, named, 1, "a line naming %q", tc.app)
			t.Logf("exit %d, stderr:\n%s", res.Code, tail(res.Stderr, 1500))
		})
	}
}

func TestCLIChdirAndWorkingDirectory(t *testing.T) {
	t.Run("--chdir from elsewhere", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "simple:app", Dir: t.TempDir()})
		_, b := s.Get(t, "/")
		assert.Equal(t, "simple app", string(b))
	})
	t.Run("working directory on sys.path", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "simple:app", Dir: testAppsDir, NoChdir: true})
		_, b := s.Get(t, "/")
		assert.Equal(t, "simple app", string(b))
	})
	t.Run("relative --chdir", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "simple:app", Dir: pythonDir, NoChdir: true, Args: []string{"--chdir", "testapps"}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "simple app", string(b))
	})
}

const ppApp = `from _validated import wrap


def _raw(environ, start_response):
    body = b"%s"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = wrap(_raw)
`

func TestCLIPythonPath(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(d2, "pp_only_app.py"), []byte(fmt.Sprintf(ppApp, "from pythonpath")), 0o644))
	t.Run("--pythonpath a,b", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "pp_only_app", Args: []string{"--pythonpath", d1 + "," + d2}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "from pythonpath", string(b))
	})
	t.Run("PYTHONPATH", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "pp_only_app", Env: []string{"PYTHONPATH=" + d2}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "from pythonpath", string(b))
	})
	t.Run("without it the module is missing", func(t *testing.T) {
		port := freePort(t, "127.0.0.1")
		res := runUntilExit(t, port, nil, "", "-w", "1", "-b", fmt.Sprintf("127.0.0.1:%d", port), "--chdir", testAppsDir, "pp_only_app")
		assert.NotEqual(t, 0, res.Code)
		assert.Contains(t, res.Stderr, "pp_only_app")
	})
}

func TestCLIVirtualenv(t *testing.T) {
	venv := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(pythonExe, "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput()
	require.NoError(t, err, "creating a venv: %s", out)
	sp, err := filepath.Glob(filepath.Join(venv, "lib", "python3*", "site-packages"))
	require.NoError(t, err)
	require.Len(t, sp, 1, "site-packages of the venv")
	// A module only importable from the venv, plus a .pth-added directory.
	require.NoError(t, os.WriteFile(filepath.Join(sp[0], "venv_only_app.py"), []byte(fmt.Sprintf(ppApp, "from the venv")), 0o644))
	extra := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(extra, "pth_only_app.py"), []byte(fmt.Sprintf(ppApp, "from a .pth dir")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(sp[0], "e2e_extra.pth"), []byte(extra+"\n"), 0o644))

	t.Run("--virtualenv", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "venv_only_app", Args: []string{"--virtualenv", venv}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "from the venv", string(b))
	})
	t.Run("--virtualenv processes .pth files", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "pth_only_app", Args: []string{"--virtualenv", venv}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "from a .pth dir", string(b))
	})
	t.Run("VIRTUAL_ENV", func(t *testing.T) {
		s := startServer(t, ServerOpts{App: "venv_only_app", Env: []string{"VIRTUAL_ENV=" + venv}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "from the venv", string(b))
	})
	t.Run("system site-packages still visible", func(t *testing.T) {
		// --system-site-packages: the echo app (stdlib only) and the venv module both load.
		s := startServer(t, ServerOpts{App: "echo", Args: []string{"--virtualenv", venv}})
		_, b := s.Get(t, "/")
		assert.Equal(t, "echo app", string(b))
	})
}

func TestCLIMultipleBinds(t *testing.T) {
	p1, p2 := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
	sock := filepath.Join(t.TempDir(), "s.sock")
	s := startServer(t, ServerOpts{Binds: []string{
		fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2), "unix:" + sock}})
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)} {
		c := dialNet(t, "tcp", addr)
		c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
		assert.Equal(t, "headers-body", string(c.MustRead("GET").Body), addr)
	}
	c := dialNet(t, "unix", sock)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	assert.Equal(t, "headers-body", string(c.MustRead("GET").Body), "unix socket")
	_ = s
}

func TestCLIPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	res := runGohost(t, 20*time.Second, "", nil, "-w", "1", "-b", fmt.Sprintf("127.0.0.1:%d", port), "--chdir", testAppsDir, "echo")
	assert.NotEqual(t, 0, res.Code, "a port in use must fail")
	assert.Less(t, time.Since(start), 15*time.Second)
	var mentions []string
	for _, line := range nonEmptyLines(res.Stderr) {
		if strings.Contains(line, fmt.Sprint(port)) {
			mentions = append(mentions, line)
		}
	}
	assert.Len(t, mentions, 1, "one clear line naming the address; stderr:\n%s", res.Stderr)
	assert.Regexp(t, `(?i)in use`, res.Stderr)
	assert.NotContains(t, res.Stderr, "panic:")
	assert.NotContains(t, res.Stderr, "Traceback")
}

var accessLineRE = regexp.MustCompile(`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /headers\?x=1 HTTP/1\.1" 200 12 "http://ref\.example/page" "e2e-agent/1\.0"$`)

func TestCLIAccessLog(t *testing.T) {
	req := "GET /headers?x=1 HTTP/1.1\r\nHost: t\r\nReferer: http://ref.example/page\r\nUser-Agent: e2e-agent/1.0\r\n\r\n"
	t.Run("stdout", func(t *testing.T) {
		s := startServer(t, ServerOpts{Args: []string{"--access-logfile", "-"}})
		c := s.Dial(t)
		c.Send(req)
		c.MustRead("GET")
		require.True(t, s.WaitStdout("GET /headers?x=1", 5*time.Second), "access log line on stdout; stdout:\n%s", s.Stdout.String())
		var line string
		for _, l := range nonEmptyLines(s.Stdout.String()) {
			if strings.Contains(l, "GET /headers?x=1") {
				line = l
			}
		}
		assert.Regexp(t, accessLineRE, line, "gunicorn's default access-log format")
		// A request without Referer/User-Agent logs "-".
		c.Send("GET /status?code=404 HTTP/1.1\r\nHost: t\r\n\r\n")
		c.MustRead("GET")
		require.True(t, s.WaitStdout("GET /status?code=404", 5*time.Second))
		assert.Regexp(t, `"GET /status\?code=404 HTTP/1\.1" 404 \d+ "-" "-"`, s.Stdout.String())
	})
	t.Run("file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "access.log")
		s := startServer(t, ServerOpts{Args: []string{"--access-logfile", f}})
		c := s.Dial(t)
		c.Send(req)
		c.MustRead("GET")
		var content string
		for i := 0; i < 250 && !strings.Contains(content, "/headers?x=1"); i++ {
			time.Sleep(20 * time.Millisecond)
			b, _ := os.ReadFile(f)
			content = string(b)
		}
		lines := nonEmptyLines(content)
		require.NotEmpty(t, lines, "access log file stays empty")
		assert.Regexp(t, accessLineRE, lines[len(lines)-1])
	})
	t.Run("off by default", func(t *testing.T) {
		s := startServer(t, ServerOpts{})
		c := s.Dial(t)
		c.Send(req)
		c.MustRead("GET")
		time.Sleep(300 * time.Millisecond)
		assert.NotContains(t, s.Stdout.String(), "/headers?x=1")
		assert.NotContains(t, s.Stderr.String(), "/headers?x=1")
	})
}

func TestCLIErrorLogFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "error.log")
	s := startServer(t, ServerOpts{Args: []string{"--error-logfile", f, "--log-level", "info"}})
	_, b := s.Get(t, "/errors?marker=errfile-5521")
	assert.Equal(t, "logged", string(b))
	s.Get(t, "/raise?id=errfile")
	var content string
	for i := 0; i < 250 && !(strings.Contains(content, "errfile-5521") && strings.Contains(content, "raise-marker-errfile")); i++ {
		time.Sleep(20 * time.Millisecond)
		bb, _ := os.ReadFile(f)
		content = string(bb)
	}
	assert.Contains(t, content, "wsgi.errors says errfile-5521")
	assert.Contains(t, content, "raise-marker-errfile", "app traceback goes to --error-logfile")
}

func TestCLIVersionAndHelp(t *testing.T) {
	res := runGohost(t, 10*time.Second, "", nil, "--version")
	assert.Equal(t, 0, res.Code)
	out := res.Stdout + res.Stderr
	assert.Contains(t, strings.ToLower(out), "gohost")
	assert.Regexp(t, `\d+\.\d+`, out, "--version prints a version number")

	res = runGohost(t, 10*time.Second, "", nil, "--help")
	assert.Equal(t, 0, res.Code)
	out = res.Stdout + res.Stderr
	for _, flag := range []string{"--bind", "--workers", "--threads", "--chdir", "--pythonpath", "--virtualenv",
		"--root-path", "--log-level", "--access-logfile", "--error-logfile", "--limit-request-line",
		"--limit-request-fields", "--limit-request-field_size", "--version"} {
		assert.Contains(t, out, flag, "--help lists %s", flag)
	}
}

func TestCLIBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag", "echo"},
		{"-w", "notanumber", "echo"},
		{"--threads", "-x", "echo"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := runGohost(t, 10*time.Second, "", nil, args...)
			assert.Equal(t, 2, res.Code, "a bad flag exits 2")
			// One clear line naming the problem (a single "see --help" hint
			// line may follow), not a usage dump.
			lines := nonEmptyLines(res.Stderr)
			require.NotEmpty(t, lines)
			assert.Contains(t, lines[0], strings.TrimLeft(args[0], "-"), "the first line names the bad flag")
			if len(lines) == 2 {
				assert.Contains(t, lines[1], "--help", "only a hint may follow the error line; stderr:\n%s", res.Stderr)
			}
			assert.LessOrEqual(t, len(lines), 2, "one clear line; stderr:\n%s", res.Stderr)
			assert.Empty(t, res.Stdout)
		})
	}
	t.Run("no APP", func(t *testing.T) {
		res := runGohost(t, 10*time.Second, "", nil, "-b", "127.0.0.1:0")
		assert.NotEqual(t, 0, res.Code)
		assert.LessOrEqual(t, len(nonEmptyLines(res.Stderr)), 2, "stderr:\n%s", res.Stderr)
	})
}

func TestCLIGracefulStop(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /stream?n=3&delay=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
	// Wait until the request is in flight (first chunk on the wire).
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "chunk-0\n") {
		n, err := c.br.Read(buf)
		got.Write(buf[:n])
		require.NoError(t, err, "first chunk; got %q", got.String())
	}
	require.NoError(t, syscall.Kill(s.Cmd.Process.Pid, syscall.SIGTERM))
	for !strings.Contains(got.String(), "\r\n0\r\n\r\n") {
		n, err := c.br.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("SIGTERM must let the in-flight request finish: %v; got %q", err, got.String())
		}
	}
	assert.Contains(t, got.String(), "chunk-2\n")
	select {
	case <-s.exited:
		assert.NoError(t, s.exitErr, "clean exit after SIGTERM")
	case <-time.After(10 * time.Second):
		t.Errorf("gohost did not exit within 10s of SIGTERM")
	}
}
