package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/host"
	"github.com/gohost/gohost/host/config"
)

// runCmd runs the command with a serve that records its Config.
func runCmd(t *testing.T, env []string, args ...string) (code int, stdout, stderr string, served *config.Config) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(args, env, &out, &errOut, func(c *config.Config) int {
		served = c
		return 7
	})
	return code, out.String(), errOut.String(), served
}

func TestVersion(t *testing.T) {
	old := version
	version = "1.2.3"
	defer func() { version = old }()
	for _, flag := range []string{"--version", "-v"} {
		code, out, errOut, served := runCmd(t, nil, flag)
		assert.Equal(t, 0, code)
		assert.Equal(t, "gohost 1.2.3 (Python 3.11, Go "+strings.TrimPrefix(runtime.Version(), "go")+")\n", out)
		assert.Empty(t, errOut)
		assert.Nil(t, served)
	}
}

func TestHelp(t *testing.T) {
	code, out, _, served := runCmd(t, []string{"GOHOST_WORKERS=broken"}, "--help")
	assert.Equal(t, 0, code)
	assert.Equal(t, config.Usage(), out)
	assert.Nil(t, served)
}

func TestPrintConfig(t *testing.T) {
	code, out, errOut, served := runCmd(t, []string{"GOHOST_THREADS=9"}, "--print-config", "-w", "3", "myapp:app")
	assert.Equal(t, 0, code)
	assert.Empty(t, errOut)
	assert.Nil(t, served)
	assert.Contains(t, out, "workers = 3\n")
	assert.Contains(t, out, "threads = 9\n")
	assert.Contains(t, out, `app = "myapp:app"`+"\n")
}

func TestErrorsAreOneLineAndExit2(t *testing.T) {
	tests := map[string][]string{
		"gohost: unknown flag -k: gohost has no worker classes; use --threads N for concurrency (like -k gthread)": {"-k", "gthread", "app"},
		"gohost: missing APP: give the application as MODULE:CALLABLE, like 'gohost myapp:application'":            {"-w", "2"},
		"gohost: --workers must be ≥ 1, got 0": {"-w", "0", "app"},
	}
	for want, args := range tests {
		code, out, errOut, served := runCmd(t, nil, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, out)
		assert.Nil(t, served)
		assert.Equal(t, want+"\nTry 'gohost --help'.\n", errOut, "%v", args)
	}
}

func TestServe(t *testing.T) {
	old := version
	version = "9.9"
	defer func() { version = old }()
	code, out, errOut, served := runCmd(t, nil, "-b", "127.0.0.1:0", "--threads", "4", "myapp:application")
	assert.Equal(t, 7, code, "serve's exit code is the command's")
	assert.Empty(t, out)
	assert.Empty(t, errOut)
	require.NotNil(t, served)
	assert.Equal(t, "myapp:application", served.App)
	assert.Equal(t, 4, served.Threads)
	assert.Equal(t, "9.9", host.Version)
}
