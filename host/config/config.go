package config

import (
	"runtime"
	"time"

	"github.com/gohost/gohost/host/logs"
)

// Config is every setting of a gohost run. Field comments name the flag;
// see docs/CONFIG.md for config keys and environment variables.
type Config struct {
	// App is the positional MODULE:CALLABLE (also config key / GOHOST_APP).
	App string

	// Binding and processes.
	Bind           []string // -b/--bind HOST:PORT, [::]:PORT, unix:PATH, fd://N; default 127.0.0.1:8000
	Workers        int      // -w/--workers; default: number of CPU cores
	Threads        int      // --threads: requests a worker runs in Python at once
	MaxConnections int      // --max-connections open connections per worker; 0 = unlimited

	// Python.
	Chdir      string   // --chdir
	PythonPath []string // --pythonpath (comma-separated or repeated)
	Virtualenv string   // --virtualenv, else $VIRTUAL_ENV
	RootPath   string   // --root-path: SCRIPT_NAME prefix

	// Logging.
	LogLevel        string // --log-level debug|info|warning|error|critical
	AccessLogFile   string // --access-logfile ("" off, "-" stdout)
	AccessLogFormat string // --access-log-format (gunicorn atoms, or "json")
	ErrorLogFile    string // --error-logfile ("-" stderr, the default)

	// Limits (gunicorn names and meanings).
	LimitRequestLine      int   // --limit-request-line: ≤ 8190 bytes; 0 = unlimited
	LimitRequestFields    int   // --limit-request-fields: ≤ 32768 header fields; 0 = 32768
	LimitRequestFieldSize int   // --limit-request-field_size: bytes of one header field; 0 = unlimited
	LimitRequestBody      int64 // --limit-request-body: bytes; 0 = unlimited
	BodyPrefetch          int   // --body-prefetch: body bytes read with the head, before the app runs

	// Timeouts. 0 means none.
	Timeout           time.Duration // --timeout: longest a request may run
	GracefulTimeout   time.Duration // --graceful-timeout
	KeepAlive         time.Duration // --keep-alive: idle wait for the next request on a connection
	ReadHeaderTimeout time.Duration // --read-header-timeout: from a request's first byte to its full head
	BodyReadTimeout   time.Duration // --body-read-timeout: longest wait for more body bytes
	WriteTimeout      time.Duration // --write-timeout: longest wait for the client to take response bytes

	// Recycling and reload.
	MaxRequests       int      // --max-requests
	MaxRequestsJitter int      // --max-requests-jitter
	MaxWorkerMemoryMB int      // --max-worker-memory
	Reload            bool     // --reload
	ReloadExtraFiles  []string // --reload-extra-file
	PidFile           string   // --pid

	// Proxies and TLS.
	ForwardedAllowIPs []string // --forwarded-allow-ips: peers trusted for X-Forwarded-* and PROXY; "*" all
	ProxyProtocol     bool     // --proxy-protocol: connections start with a PROXY protocol v1/v2 header
	CertFile          string   // --certfile: serve HTTPS with this certificate (PEM)
	KeyFile           string   // --keyfile: its private key (PEM)
	HTTP2             bool     // --http2: ALPN h2 on TLS listeners (default on)
	H2C               bool     // --h2c: cleartext HTTP/2 with prior knowledge

	// Extras.
	ServerHeader string   // --server-header: Server response header value; "" sends none
	MetricsBind  string   // --metrics-bind: address of the Prometheus /metrics endpoint; "" off
	Static       []string // --static /PREFIX=DIR: files served by Go without Python

	// Run control (command line only, except ConfigFile: GOHOST_CONFIG).
	ConfigFile  string // -c/--config: the TOML file read, "" none
	PrintConfig bool   // --print-config: print the effective settings as TOML and exit
	Version     bool   // -v/--version
	Help        bool   // -h/--help
}

// Default returns the built-in settings: gunicorn's defaults where gunicorn
// has the setting.
func Default() *Config {
	return &Config{
		Bind:           []string{"127.0.0.1:8000"},
		Workers:        runtime.NumCPU(),
		Threads:        2,
		MaxConnections: 1000, // gunicorn's worker_connections

		LogLevel:        "info",
		AccessLogFile:   "",
		AccessLogFormat: logs.DefaultAccessFormat,
		ErrorLogFile:    "-",

		LimitRequestLine:      4094,
		LimitRequestFields:    100,
		LimitRequestFieldSize: 8190,
		LimitRequestBody:      0,
		BodyPrefetch:          64 << 10,

		Timeout:           30 * time.Second,
		GracefulTimeout:   30 * time.Second,
		KeepAlive:         5 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		BodyReadTimeout:   30 * time.Second,
		WriteTimeout:      30 * time.Second,

		ForwardedAllowIPs: []string{"127.0.0.1", "::1"},
		HTTP2:             true,
		ServerHeader:      "gohost",
	}
}

// Environment variables gohost reads besides the settings' GOHOST_*
// variables. The worker protocol (docs/ARCHITECTURE.md) uses the first
// three between master and worker; Load ignores them.
const (
	EnvPrefix     = "GOHOST_"
	EnvWorkerID   = "GOHOST_WORKER_ID"
	EnvListenFDs  = "GOHOST_LISTEN_FDS"
	EnvControlFD  = "GOHOST_CONTROL_FD"
	EnvPreflight  = "GOHOST_PREFLIGHT" // the master's import check before it binds
	EnvVirtualenv = "VIRTUAL_ENV"      // the --virtualenv default, as activate sets it
)

// internalEnv are GOHOST_ variables that are not settings.
var internalEnv = map[string]bool{EnvWorkerID: true, EnvListenFDs: true, EnvControlFD: true, EnvPreflight: true, "GOHOST_MAX_REQUESTS": true}
