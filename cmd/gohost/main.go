package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/gohost/gohost/host"
	"github.com/gohost/gohost/host/config"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

// exitUsage is the status of a command-line or configuration error, as
// argparse (and so gunicorn) uses.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr, host.Main))
}

// run is the command without its process: it handles what needs no server
// (errors, --help, --version, --print-config) and hands the rest to serve.
func run(args, environ []string, stdout, stderr io.Writer, serve func(*config.Config) int) int {
	cfg, err := config.Load(args, environ)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(stderr, "gohost: %s\nTry 'gohost --help'.\n", msg)
		return exitUsage
	}
	switch {
	case cfg.Help:
		io.WriteString(stdout, config.Usage())
		return 0
	case cfg.Version:
		fmt.Fprintln(stdout, versionLine())
		return 0
	case cfg.PrintConfig:
		if err := cfg.WriteTOML(stdout); err != nil {
			fmt.Fprintf(stderr, "gohost: %v\n", err)
			return 1
		}
		return 0
	}
	host.Version = version
	return serve(cfg)
}

// versionLine is --version's output: "gohost 1.2.3 (Python 3.11, Go 1.26.8)".
func versionLine() string {
	return fmt.Sprintf("gohost %s (Python 3.11, Go %s)", version, strings.TrimPrefix(runtime.Version(), "go"))
}
