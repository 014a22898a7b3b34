package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/host/logs"
)

func TestDefault(t *testing.T) {
	c := Default()
	assert.Equal(t, []string{"127.0.0.1:8000"}, c.Bind)
	assert.Equal(t, runtime.NumCPU(), c.Workers)
	assert.Equal(t, 2, c.Threads)
	assert.Equal(t, "info", c.LogLevel)
	assert.Equal(t, "-", c.ErrorLogFile)
	assert.Equal(t, "", c.AccessLogFile)
	assert.Equal(t, `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`, c.AccessLogFormat)
	assert.Equal(t, 4094, c.LimitRequestLine)
	assert.Equal(t, 100, c.LimitRequestFields)
	assert.Equal(t, 8190, c.LimitRequestFieldSize)
	assert.Equal(t, int64(0), c.LimitRequestBody)
	assert.Equal(t, 30*time.Second, c.Timeout)
	assert.Equal(t, 30*time.Second, c.GracefulTimeout)
	assert.Equal(t, 5*time.Second, c.KeepAlive)
	assert.Equal(t, 0, c.MaxRequests)
	assert.Equal(t, []string{"127.0.0.1", "::1"}, c.ForwardedAllowIPs)
	c.App = "myapp:application"
	assert.NoError(t, c.Validate(), "the defaults are valid")
}

// Every Config field is reachable through exactly one setting, so flags,
// environment, file, --help, --print-config and the docs cover all of them.
func TestSettingsCoverConfig(t *testing.T) {
	var c Config
	base := reflect.ValueOf(&c).Elem()
	owner := make(map[uintptr]string)
	for _, s := range settings {
		p := reflect.ValueOf(s.field(&c)).Pointer()
		require.NotContains(t, owner, p, "%s and %s share a field", s.name, owner[p])
		owner[p] = s.name
	}
	for i := 0; i < base.NumField(); i++ {
		f := base.Field(i)
		assert.Contains(t, owner, f.Addr().Pointer(), "field %s has no setting", base.Type().Field(i).Name)
	}
	assert.Len(t, owner, base.NumField())
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gohost.toml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, `
workers = 3
threads = 5
timeout = "45s"
log_level = "warning"
keep-alive = 7
bind = ["127.0.0.1:7000", "unix:/tmp/gohost-test.sock"]
`)
	env := []string{
		"GOHOST_CONFIG=" + file,
		"GOHOST_THREADS=6",
		"GOHOST_TIMEOUT=50",
		"GOHOST_LOG_LEVEL=error",
		"PATH=/usr/bin",
	}
	c, err := Load([]string{"--timeout", "60", "myapp:app"}, env)
	require.NoError(t, err)
	assert.Equal(t, 3, c.Workers, "file over default")
	assert.Equal(t, 6, c.Threads, "env over file")
	assert.Equal(t, 60*time.Second, c.Timeout, "flag over env")
	assert.Equal(t, "error", c.LogLevel, "env over file")
	assert.Equal(t, 7*time.Second, c.KeepAlive)
	assert.Equal(t, []string{"127.0.0.1:7000", "unix:/tmp/gohost-test.sock"}, c.Bind)
	assert.Equal(t, file, c.ConfigFile)
	assert.Equal(t, "myapp:app", c.App)

	// -c on the command line wins over GOHOST_CONFIG.
	other := writeFile(t, "workers = 9\n")
	c, err = Load([]string{"-c", other, "myapp"}, env)
	require.NoError(t, err)
	assert.Equal(t, 9, c.Workers)
	assert.Equal(t, other, c.ConfigFile)
}

func TestLoadLists(t *testing.T) {
	file := writeFile(t, `bind = "127.0.0.1:1, 127.0.0.1:2"`+"\npythonpath = [\"f\"]\n")
	c, err := Load([]string{"-c", file, "app"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2"}, c.Bind, "a string list in a file is comma-separated")

	c, err = Load([]string{"-c", file, "app"}, []string{"GOHOST_BIND=127.0.0.1:3,[::1]:4", "GOHOST_PYTHONPATH=e1,e2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:3", "[::1]:4"}, c.Bind, "env replaces the file's list")
	assert.Equal(t, []string{"e1", "e2"}, c.PythonPath)

	c, err = Load([]string{"-c", file, "-b", "127.0.0.1:5", "--bind=127.0.0.1:6", "--pythonpath", "a,b", "--pythonpath", "c", "app"},
		[]string{"GOHOST_BIND=127.0.0.1:3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:5", "127.0.0.1:6"}, c.Bind, "flags replace, then repeat")
	assert.Equal(t, []string{"a", "b", "c"}, c.PythonPath, "--pythonpath is comma-separated and repeatable")

	c, err = Load([]string{"--static", "/static=./public", "--static", "/media=/srv/media", "--reload-extra-file", "a.cfg", "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"/static=./public", "/media=/srv/media"}, c.Static)
	assert.Equal(t, []string{"a.cfg"}, c.ReloadExtraFiles)

	c, err = Load([]string{"x"}, []string{"GOHOST_FORWARDED_ALLOW_IPS="})
	require.NoError(t, err)
	assert.Empty(t, c.ForwardedAllowIPs, "an empty variable empties a list")
}

func TestLoadFlagForms(t *testing.T) {
	c, err := Load([]string{
		"-w", "4", "--threads=8", "--chdir", "/srv", "--virtualenv", "/venv", "--root-path", "/api",
		"--log-level", "DEBUG", "--access-logfile", "-", "--access-log-format", "json", "--log-file", "/var/log/e.log",
		"--limit-request-line", "8000", "--limit-request-fields", "50", "--limit-request-field_size", "1000",
		"--limit-request-body", "10MiB", "--body-prefetch", "1k",
		"-t", "0.5", "--graceful-timeout", "1m30s", "--keep-alive", "0", "--read-header-timeout", "2",
		"--body-read-timeout", "250ms", "--write-timeout", "3s",
		"--max-requests", "1000", "--max-requests-jitter", "50", "--max-worker-memory", "512",
		"--reload", "--pid", "/run/gohost.pid", "--forwarded-allow-ips", "10.0.0.0/8, 192.0.2.1",
		"--proxy-protocol", "--certfile", "c.pem", "--keyfile", "k.pem", "--metrics-bind", "127.0.0.1:9100",
		"--server-header", "", "--max-connections", "0",
		"pkg.mod:create_app('x', debug=True)",
	}, nil)
	require.NoError(t, err)
	want := Default()
	want.App = "pkg.mod:create_app('x', debug=True)"
	want.Workers, want.Threads = 4, 8
	want.Chdir, want.Virtualenv, want.RootPath = "/srv", "/venv", "/api"
	want.LogLevel, want.AccessLogFile, want.AccessLogFormat, want.ErrorLogFile = "DEBUG", "-", "json", "/var/log/e.log"
	want.LimitRequestLine, want.LimitRequestFields, want.LimitRequestFieldSize = 8000, 50, 1000
	want.LimitRequestBody, want.BodyPrefetch = 10<<20, 1024
	want.Timeout, want.GracefulTimeout, want.KeepAlive = 500*time.Millisecond, 90*time.Second, 0
	want.ReadHeaderTimeout, want.BodyReadTimeout, want.WriteTimeout = 2*time.Second, 250*time.Millisecond, 3*time.Second
	want.MaxRequests, want.MaxRequestsJitter, want.MaxWorkerMemoryMB = 1000, 50, 512
	want.Reload, want.PidFile = true, "/run/gohost.pid"
	want.ForwardedAllowIPs = []string{"10.0.0.0/8", "192.0.2.1"}
	want.ProxyProtocol, want.CertFile, want.KeyFile, want.MetricsBind = true, "c.pem", "k.pem", "127.0.0.1:9100"
	want.ServerHeader, want.MaxConnections = "", 0
	assert.Equal(t, want, c)

	// Both spellings of gunicorn's odd flag; --flag=false for booleans;
	// flags after APP (interspersed, as argparse allows).
	c, err = Load([]string{"app", "--limit-request-field-size", "77", "--reload=false", "--proxy-protocol=true"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 77, c.LimitRequestFieldSize)
	assert.False(t, c.Reload)
	assert.True(t, c.ProxyProtocol)

	// After "--" everything is positional.
	_, err = Load([]string{"--", "-w"}, nil)
	assert.EqualError(t, err, `APP "-w": want MODULE or MODULE:CALLABLE, like myapp:application`)
}

func TestLoadPositional(t *testing.T) {
	_, err := Load(nil, nil)
	assert.EqualError(t, err, "missing APP: give the application as MODULE:CALLABLE, like 'gohost myapp:application'")
	_, err = Load([]string{"a:app", "b:app"}, nil)
	assert.EqualError(t, err, `too many arguments ["a:app" "b:app"]: APP (MODULE:CALLABLE) is the only positional argument`)

	c, err := Load(nil, []string{"GOHOST_APP=envapp:app"})
	require.NoError(t, err)
	assert.Equal(t, "envapp:app", c.App)
	c, err = Load([]string{"-c", writeFile(t, `app = "fileapp"`)}, []string{"GOHOST_APP=envapp:app"})
	require.NoError(t, err)
	assert.Equal(t, "envapp:app", c.App)
	c, err = Load([]string{"-c", writeFile(t, `app = "fileapp"`), "cli:app"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "cli:app", c.App, "the positional wins")

	c, err = Load([]string{"--print-config"}, nil)
	require.NoError(t, err, "--print-config needs no APP")
	assert.True(t, c.PrintConfig)
	_, err = Load([]string{"--print-config", "-w", "0"}, nil)
	assert.EqualError(t, err, "--workers must be ≥ 1, got 0", "but is validated")
}

func TestLoadHelpVersionShortCircuit(t *testing.T) {
	badEnv := []string{"GOHOST_WORKERS=many", "GOHOST_CONFIG=/nonexistent.toml"}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--version"}, {"-v"}, {"-w", "0", "--help", "a", "b"}} {
		c, err := Load(args, badEnv)
		require.NoError(t, err, "%v", args)
		assert.True(t, c.Help || c.Version, "%v", args)
	}
	c, err := Load([]string{"-v"}, nil)
	require.NoError(t, err)
	assert.True(t, c.Version)
	assert.False(t, c.Help)
}

func TestLoadVirtualenvDefault(t *testing.T) {
	c, err := Load([]string{"app"}, []string{"VIRTUAL_ENV=/home/u/.venv"})
	require.NoError(t, err)
	assert.Equal(t, "/home/u/.venv", c.Virtualenv)
	c, err = Load([]string{"app"}, []string{"VIRTUAL_ENV=/home/u/.venv", "GOHOST_VIRTUALENV=/opt/venv"})
	require.NoError(t, err)
	assert.Equal(t, "/opt/venv", c.Virtualenv)
	c, err = Load([]string{"--virtualenv", "/x", "app"}, []string{"VIRTUAL_ENV=/home/u/.venv"})
	require.NoError(t, err)
	assert.Equal(t, "/x", c.Virtualenv)
}

func TestLoadFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-k", "gthread", "app"}, "unknown flag -k: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{[]string{"-kgevent", "app"}, "unknown flag -k: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{[]string{"--worker-class=gthread", "app"}, "unknown flag --worker-class: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{[]string{"--worker_class", "sync", "app"}, "unknown flag --worker_class: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{[]string{"--preload", "app"}, "unknown flag --preload: gohost loads the app in each worker (nothing is forked); there is nothing to preload"},
		{[]string{"-D", "app"}, "unknown flag -D: gohost stays in the foreground; run it under systemd or another supervisor"},
		{[]string{"--worker-connections", "10", "app"}, "unknown flag --worker-connections: use --max-connections"},
		{[]string{"--wokers", "2", "app"}, "unknown flag --wokers: did you mean --workers?"},
		{[]string{"--log-levl", "info", "app"}, "unknown flag --log-levl: did you mean --log-level?"},
		{[]string{"--frobnicate", "app"}, "unknown flag --frobnicate"},
		{[]string{"-x", "app"}, "unknown flag -x"},
		{[]string{"-w", "four", "app"}, `--workers: "four" is not a whole number`},
		{[]string{"--timeout", "soon", "app"}, `--timeout: "soon" is not a duration (use seconds like 30, or a Go duration like 500ms or 1m30s)`},
		{[]string{"--limit-request-body", "lots", "app"}, `--limit-request-body: "lots" is not a size (use bytes like 1048576, or 64KiB, 10MiB)`},
		{[]string{"--reload=maybe", "app"}, `--reload: "maybe" is not a boolean (use true or false)`},
		{[]string{"app", "-w"}, "--workers needs a value"},
		{[]string{"app", "--bind"}, "--bind needs a value"},
	}
	for _, tt := range tests {
		_, err := Load(tt.args, nil)
		assert.EqualError(t, err, tt.want, "%v", tt.args)
	}
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"GOHOST_WORKRS=2", "unknown environment variable GOHOST_WORKRS: did you mean GOHOST_WORKERS?"},
		{"GOHOST_workers=2", "unknown environment variable GOHOST_workers: did you mean GOHOST_WORKERS?"},
		{"GOHOST_LOG_FILE=x", "unknown environment variable GOHOST_LOG_FILE: did you mean GOHOST_ERROR_LOGFILE?"},
		{"GOHOST_WORKER_CLASS=gthread", "unknown environment variable GOHOST_WORKER_CLASS: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{"GOHOST_PRINT_CONFIG=1", "unknown environment variable GOHOST_PRINT_CONFIG: --print-config can only be given on the command line"},
		{"GOHOST_WORKERS=x", `GOHOST_WORKERS: "x" is not a whole number`},
		{"GOHOST_CONFIG=/nonexistent/gohost.toml", "config file /nonexistent/gohost.toml: no such file or directory"},
	}
	for _, tt := range tests {
		_, err := Load([]string{"app"}, []string{tt.env})
		assert.EqualError(t, err, tt.want, tt.env)
	}

	// The worker protocol's variables are not settings and are ignored.
	c, err := Load([]string{"app"}, []string{EnvWorkerID + "=1", EnvListenFDs + "=2", EnvControlFD + "=5", "NOT_GOHOST_X=1", "GOHOST_"})
	require.NoError(t, err)
	assert.Equal(t, Default().Workers, c.Workers)
}

func TestLoadFileValues(t *testing.T) {
	file := writeFile(t, `
# gunicorn-like names, either separator
limit_request_field_size = 100
limit-request-line = "2000"
max_requests = 5.0
timeout = 0.25
graceful_timeout = "2m"
reload = true
proxy-protocol = "yes"
limit-request-body = "1MiB"
pythonpath = ["/a", "/b"]
log-file = "/tmp/e.log"
`)
	c, err := Load([]string{"-c", file, "app"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 100, c.LimitRequestFieldSize)
	assert.Equal(t, 2000, c.LimitRequestLine)
	assert.Equal(t, 5, c.MaxRequests)
	assert.Equal(t, 250*time.Millisecond, c.Timeout)
	assert.Equal(t, 2*time.Minute, c.GracefulTimeout)
	assert.True(t, c.Reload)
	assert.True(t, c.ProxyProtocol)
	assert.Equal(t, int64(1<<20), c.LimitRequestBody)
	assert.Equal(t, []string{"/a", "/b"}, c.PythonPath)
	assert.Equal(t, "/tmp/e.log", c.ErrorLogFile)
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"worker_class = \"gthread\"", "unknown key worker_class: gohost has no worker classes; use --threads N for concurrency (like -k gthread)"},
		{"loglevel = \"info\"", "unknown key loglevel: use log-level"},
		{"workrs = 2", "unknown key workrs: did you mean workers?"},
		{"workers = \"two\"", `workers: "two" is not a whole number`},
		{"workers = 2.5", `workers: "2.5" is not a whole number`},
		{"workers = [1, 2]", "workers: want a single value, not an array"},
		{"bind = 8000", "bind: want an array of strings, like [\"a\", \"b\"], got 8000"},
		{"bind = [[\"x\"]]", "bind: array item: want a single value, not an array"},
		{"config = \"other.toml\"", "config: a config file cannot name another"},
		{"print-config = true", "print-config: --print-config can only be given on the command line"},
		{"[server]\nworkers = 2", "unknown key server"},
	}
	for _, tt := range tests {
		path := writeFile(t, tt.content)
		_, err := Load([]string{"-c", path, "app"}, nil)
		assert.EqualError(t, err, "config file "+path+": "+tt.want, tt.content)
	}

	// TOML syntax errors name the line.
	path := writeFile(t, "workers = 2\nthreads = = 3\n")
	_, err := Load([]string{"-c", path, "app"}, nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "config file "+path+": line 2: "), err.Error())
	assert.NotContains(t, err.Error(), "\n")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		mutate func(c *Config)
		want   string
	}{
		{func(c *Config) { c.Workers = 0 }, "--workers must be ≥ 1, got 0"},
		{func(c *Config) { c.Threads = -1 }, "--threads must be ≥ 1, got -1"},
		{func(c *Config) { c.Bind = nil }, "--bind: no address to listen on"},
		{func(c *Config) { c.Bind = []string{"::1:80"} }, `--bind: bind "::1:80": an IPv6 address needs brackets, like [::1]:8000`},
		{func(c *Config) { c.Bind = []string{"127.0.0.1:80", "127.0.0.1:80"} }, "--bind 127.0.0.1:80 is given twice"},
		{func(c *Config) { c.App = "my-app:x" }, `APP "my-app:x": want MODULE or MODULE:CALLABLE, like myapp:application`},
		{func(c *Config) { c.App = "myapp:" }, `APP "myapp:": want MODULE or MODULE:CALLABLE, like myapp:application`},
		{func(c *Config) { c.CertFile = "c.pem" }, "--certfile and --keyfile must be given together"},
		{func(c *Config) { c.ForwardedAllowIPs = []string{"*", "10.0.0.0/8", "proxy.local"} }, `--forwarded-allow-ips: "proxy.local" is not an IP address, a CIDR network or *`},
		{func(c *Config) { c.Static = []string{"static=./dir"} }, `--static "static=./dir": want /PREFIX=DIR, like /static=./public`},
		{func(c *Config) { c.Static = []string{"/static="} }, `--static "/static=": want /PREFIX=DIR, like /static=./public`},
		{func(c *Config) { c.MetricsBind = "127.0.0.1:8000" }, "--metrics-bind 127.0.0.1:8000 is also a --bind address"},
		{func(c *Config) { c.MetricsBind = "[bad" }, `--metrics-bind: bind "[bad": missing ']' after the IPv6 address`},
		{func(c *Config) { c.LogLevel = "loud" }, `--log-level: unknown log level "loud" (want one of debug, info, warning, error, critical)`},
		{func(c *Config) { c.ErrorLogFile = "" }, `--error-logfile: empty path (use "-" for stderr)`},
		{func(c *Config) { c.AccessLogFormat = "%(h" }, `--access-log-format: access log format: unterminated "%(h" at byte 0`},
		{func(c *Config) { c.LimitRequestLine = 9000 }, "--limit-request-line must be from 0 to 8190, got 9000"},
		{func(c *Config) { c.LimitRequestFields = 40000 }, "--limit-request-fields must be from 0 to 32768, got 40000"},
		{func(c *Config) { c.LimitRequestFieldSize = -1 }, "--limit-request-field_size must be ≥ 0, got -1"},
		{func(c *Config) { c.LimitRequestBody = -1 }, "--limit-request-body must be ≥ 0, got -1"},
		{func(c *Config) { c.Timeout = -time.Second }, "--timeout must be ≥ 0, got -1s"},
		{func(c *Config) { c.KeepAlive = -time.Millisecond }, "--keep-alive must be ≥ 0, got -1ms"},
		{func(c *Config) { c.MaxRequestsJitter = -5 }, "--max-requests-jitter must be ≥ 0, got -5"},
		{func(c *Config) { c.MaxWorkerMemoryMB = -1 }, "--max-worker-memory must be ≥ 0, got -1"},
	}
	for _, tt := range tests {
		c := Default()
		c.App = "myapp:application"
		tt.mutate(c)
		assert.EqualError(t, c.Validate(), tt.want)
	}

	// Every problem is reported, on one line.
	c := Default()
	c.Workers, c.Threads, c.LogLevel = 0, 0, "x"
	err := c.Validate()
	var ps Problems
	require.ErrorAs(t, err, &ps)
	assert.Len(t, ps, 3)
	assert.Equal(t, `--workers must be ≥ 1, got 0; --threads must be ≥ 1, got 0; --log-level: unknown log level "x" (want one of debug, info, warning, error, critical)`, err.Error())

	// Valid APP forms.
	for _, app := range []string{"myapp", "myapp:application", "pkg.sub.mod:app.wsgi", "mod:create_app()", "mod:factory('arg', x=1)", "_p:x", "café:app"} {
		c := Default()
		c.App = app
		assert.NoError(t, c.Validate(), app)
	}
}

func TestWriteTOMLRoundTrip(t *testing.T) {
	args := []string{
		"-w", "3", "--threads", "4", "-b", "127.0.0.1:9001", "-b", "unix:/tmp/g.sock", "--timeout", "1.5",
		"--keep-alive", "500ms", "--access-log-format", `%(h)s "%(r)s" \ tab	end`, "--static", "/s=./d",
		"--reload", "--limit-request-body", "1MiB", "--server-header", `quote"d`, "--pythonpath", "a,b",
		"--print-config", "mod:app",
	}
	c1, err := Load(args, nil)
	require.NoError(t, err)
	var buf strings.Builder
	require.NoError(t, c1.WriteTOML(&buf))
	out := buf.String()
	assert.Contains(t, out, "workers = 3\n")
	assert.Contains(t, out, "timeout = \"1.5s\"\n")
	assert.Contains(t, out, "graceful-timeout = 30\n")
	assert.Contains(t, out, `bind = ["127.0.0.1:9001", "unix:/tmp/g.sock"]`+"\n")
	assert.Contains(t, out, `app = "mod:app"`+"\n")
	assert.NotContains(t, out, "print-config =")

	c2, err := Load([]string{"-c", writeFile(t, out)}, nil)
	require.NoError(t, err)
	c1.PrintConfig, c1.ConfigFile, c2.ConfigFile = false, "", ""
	assert.Equal(t, c1, c2)
}

func TestUsage(t *testing.T) {
	u := Usage()
	assert.True(t, strings.HasPrefix(u, "Usage: gohost [OPTIONS] APP\n"))
	flat := strings.Join(strings.Fields(u), " ") // undo wrapping
	for _, want := range []string{
		"built-in defaults < config file (-c FILE) < GOHOST_* environment < flags",
		"module:attr", "module:factory()", "module:factory('arg', x=1)",
		"GOHOST_WORKERS=4", "GOHOST_BIND=a,b",
		"-b, --bind ADDR", "-w, --workers N", "-t, --timeout SECS", "-c, --config FILE", "-p, --pid FILE",
		"(default 127.0.0.1:8000)", "(default number of CPUs)", "(default 4094)",
		"--limit-request-field_size BYTES",
	} {
		assert.Contains(t, flat, want)
	}
	for _, s := range settings {
		if s.where&inFlags != 0 {
			assert.Contains(t, u, "--"+s.name, "flag %s in --help", s.name)
		}
		for _, a := range s.aliases {
			assert.NotContains(t, u, "      --"+a+" ", "alias %s is hidden", a)
		}
	}
	for _, g := range groups {
		assert.Contains(t, u, "\n"+g+":\n")
	}
	for _, line := range strings.Split(u, "\n") {
		if len(line) > usageWidth && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("help line longer than %d: %q", usageWidth, line)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the generated part of docs/CONFIG.md")

const (
	docPath   = "../../docs/CONFIG.md"
	beginMark = "<!-- BEGIN GENERATED: go test ./host/config -run TestConfigDoc -update -->\n"
	endMark   = "<!-- END GENERATED -->\n"
)

// docs/CONFIG.md's reference tables are generated from the settings table;
// this fails when they drift.
func TestConfigDoc(t *testing.T) {
	data, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc := string(data)
	i, j := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	require.True(t, i >= 0 && j > i, "docs/CONFIG.md lacks the generated-section markers")
	gen := reference()
	cur := doc[i+len(beginMark) : j]
	if *update {
		doc = doc[:i+len(beginMark)] + gen + doc[j:]
		require.NoError(t, os.WriteFile(docPath, []byte(doc), 0o644))
		return
	}
	assert.Equal(t, gen, cur, "run: go test ./host/config -run TestConfigDoc -update")
	for _, s := range settings {
		if s.where&inFlags != 0 {
			assert.Contains(t, doc, "`--"+s.name, s.name)
		}
		if s.where&inEnv != 0 {
			assert.Contains(t, doc, "`"+s.env()+"`", s.name)
		}
	}
}

func TestParseValues(t *testing.T) {
	durations := map[string]time.Duration{
		"30": 30 * time.Second, "0": 0, "0.5": 500 * time.Millisecond, " 2 ": 2 * time.Second,
		"500ms": 500 * time.Millisecond, "1m30s": 90 * time.Second, "-1": -time.Second,
	}
	for in, want := range durations {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "abc", "NaN", "Inf", "1e300", "30 s"} {
		_, err := parseDuration(in)
		assert.Error(t, err, in)
	}
	sizes := map[string]int64{
		"0": 0, "1048576": 1 << 20, "64KiB": 64 << 10, "64k": 64 << 10, "10MB": 10 << 20,
		"10M": 10 << 20, "1gib": 1 << 30, "512b": 512, " 2 MiB ": 2 << 20,
	}
	for in, want := range sizes {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "1.5M", "ten", "99999999999999999G"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
	for in, want := range map[string]bool{"true": true, "YES": true, "on": true, "1": true, "false": false, "off": false, "No": false, "0": false} {
		got, err := parseBool(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, []string{"a", "b"}, splitList(" a, ,b ,"))
	assert.Nil(t, splitList(""))
	assert.Equal(t, `"a\"b\\c\n\u0001é"`, tomlString("a\"b\\c\n\x01é"))
	assert.Equal(t, "30", formatDuration(30*time.Second))
	assert.Equal(t, `"1.5s"`, formatDuration(1500*time.Millisecond))
}

func TestGunicornTable(t *testing.T) {
	for k, h := range Gunicorn {
		assert.Equal(t, normKey(k), k, "keys are normalized")
		assert.NotEmpty(t, h)
		assert.Nil(t, byKey[k], "%s is a gohost setting, not a migration entry", k)
	}
	for short, long := range gunicornShort {
		assert.Contains(t, Gunicorn, long, "-%s", short)
	}
	assert.Equal(t, logs.DefaultAccessFormat, Default().AccessLogFormat)
}

func TestUnknownEnvWithoutHintBelongsToTheApp(t *testing.T) {
	c, err := Load([]string{"app:application"}, []string{"GOHOST_DJANGO_DB=/tmp/db.sqlite3", "GOHOST_WORKERS=3"})
	require.NoError(t, err)
	assert.Equal(t, 3, c.Workers)
	_, err = Load([]string{"app:application"}, []string{"GOHOST_WORKRS=2"})
	require.Error(t, err, "a typo of a setting is still refused")
}
