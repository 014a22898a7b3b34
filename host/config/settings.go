package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// where says which layers may set a setting.
type where uint8

const (
	inFile where = 1 << iota
	inEnv
	inFlags
	everywhere = inFile | inEnv | inFlags
)

// setting is one row of the table that drives flags, the environment, the
// config file, --help, --print-config and docs/CONFIG.md.
type setting struct {
	name     string   // long flag; its key form (see key) names it in files and GOHOST_*
	short    string   // one-letter flag, "" for none
	aliases  []string // other long flags accepted (hidden from --help)
	group    string   // --help section
	kind     kind
	split    bool   // kList: a flag value is comma-separated too (always so in the environment)
	metavar  string // --help placeholder; "" for booleans
	usage    string
	defDoc   string // default shown in docs and --help instead of the computed one
	where    where
	gunicorn string // the gunicorn equivalent, for docs/CONFIG.md; "" none
	field    func(c *Config) any
}

// key is the setting's canonical config-file key: the long flag with '-'
// for '_' (limit-request-field_size → limit-request-field-size).
func (s *setting) key() string { return normKey(s.name) }

// env is the setting's environment variable.
func (s *setting) env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.key(), "-", "_"))
}

// normKey folds a flag, config key or environment suffix to one form:
// lower case, '-' between words.
func normKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

const (
	groupApp     = "Application"
	groupServer  = "Server"
	groupLimits  = "Request limits"
	groupTimeout = "Timeouts"
	groupWorkers = "Worker lifecycle"
	groupLogs    = "Logging"
	groupRun     = "Run"
)

var groups = []string{groupApp, groupServer, groupLimits, groupTimeout, groupWorkers, groupLogs, groupRun}

// settings is the table, in --help order.
var settings = []*setting{
	// Application.
	{name: "app", group: groupApp, kind: kString, metavar: "APP", where: inFile | inEnv,
		usage: "the application, when not given as the positional APP", gunicorn: "`wsgi_app`",
		field: func(c *Config) any { return &c.App }},
	{name: "chdir", group: groupApp, kind: kString, metavar: "DIR", where: everywhere,
		usage: "change to DIR before loading the app", defDoc: "current directory", gunicorn: "`--chdir`",
		field: func(c *Config) any { return &c.Chdir }},
	{name: "pythonpath", group: groupApp, kind: kList, split: true, metavar: "DIRS", where: everywhere,
		usage: "comma-separated directories to add to sys.path", gunicorn: "`--pythonpath`",
		field: func(c *Config) any { return &c.PythonPath }},
	{name: "virtualenv", group: groupApp, kind: kString, metavar: "DIR", where: everywhere,
		usage: "virtualenv whose site-packages to use", defDoc: "$VIRTUAL_ENV", gunicorn: "(the `VIRTUAL_ENV` environment variable)",
		field: func(c *Config) any { return &c.Virtualenv }},
	{name: "root-path", group: groupApp, kind: kString, metavar: "PATH", where: everywhere,
		usage: "SCRIPT_NAME prefix of the app when mounted below /", gunicorn: "(the `SCRIPT_NAME` environment variable)",
		field: func(c *Config) any { return &c.RootPath }},

	// Server.
	{name: "bind", short: "b", group: groupServer, kind: kList, metavar: "ADDR", where: everywhere,
		usage: "listen on HOST:PORT, [::]:PORT, :PORT, unix:PATH or fd://N (repeatable)", gunicorn: "`-b`, `--bind`",
		field: func(c *Config) any { return &c.Bind }},
	{name: "workers", short: "w", group: groupServer, kind: kInt, metavar: "N", where: everywhere,
		usage: "worker processes", defDoc: "number of CPUs", gunicorn: "`-w`, `--workers`",
		field: func(c *Config) any { return &c.Workers }},
	{name: "threads", group: groupServer, kind: kInt, metavar: "N", where: everywhere,
		usage: "requests a worker runs in Python at once, each on its own thread", gunicorn: "`--threads` (with `-k gthread`)",
		field: func(c *Config) any { return &c.Threads }},
	{name: "max-connections", group: groupServer, kind: kInt, metavar: "N", where: everywhere,
		usage: "open connections per worker; 0 = unlimited", gunicorn: "`--worker-connections`",
		field: func(c *Config) any { return &c.MaxConnections }},
	{name: "certfile", group: groupServer, kind: kString, metavar: "FILE", where: everywhere,
		usage: "serve HTTPS with this PEM certificate (needs --keyfile)", gunicorn: "`--certfile`",
		field: func(c *Config) any { return &c.CertFile }},
	{name: "keyfile", group: groupServer, kind: kString, metavar: "FILE", where: everywhere,
		usage: "PEM private key of --certfile", gunicorn: "`--keyfile`",
		field: func(c *Config) any { return &c.KeyFile }},
	{name: "http2", group: groupServer, kind: kBool, where: everywhere,
		usage: "offer HTTP/2 (ALPN h2) on TLS listeners",
		field: func(c *Config) any { return &c.HTTP2 }},
	{name: "h2c", group: groupServer, kind: kBool, where: everywhere,
		usage: "also accept cleartext HTTP/2 with prior knowledge on plain listeners",
		field: func(c *Config) any { return &c.H2C }},
	{name: "forwarded-allow-ips", group: groupServer, kind: kList, split: true, metavar: "IPS", where: everywhere,
		usage: "comma-separated IPs/CIDRs trusted for X-Forwarded-* and PROXY headers; * = all", gunicorn: "`--forwarded-allow-ips`",
		field: func(c *Config) any { return &c.ForwardedAllowIPs }},
	{name: "proxy-protocol", group: groupServer, kind: kBool, where: everywhere,
		usage: "connections start with a PROXY protocol v1/v2 header", gunicorn: "`--proxy-protocol`",
		field: func(c *Config) any { return &c.ProxyProtocol }},
	{name: "server-header", group: groupServer, kind: kString, metavar: "TEXT", where: everywhere,
		usage: `Server response header; "" sends none`,
		field: func(c *Config) any { return &c.ServerHeader }},
	{name: "static", group: groupServer, kind: kList, metavar: "/PREFIX=DIR", where: everywhere,
		usage: "serve files under DIR at /PREFIX without Python (repeatable)",
		field: func(c *Config) any { return &c.Static }},
	{name: "metrics-bind", group: groupServer, kind: kString, metavar: "ADDR", where: everywhere,
		usage: "serve Prometheus metrics at http://ADDR/metrics", gunicorn: "`--statsd-host` (push, not pull)",
		field: func(c *Config) any { return &c.MetricsBind }},

	// Request limits.
	{name: "limit-request-line", group: groupLimits, kind: kInt, metavar: "BYTES", where: everywhere,
		usage: "longest request line, up to 8190; 0 = unlimited", gunicorn: "`--limit-request-line`",
		field: func(c *Config) any { return &c.LimitRequestLine }},
	{name: "limit-request-fields", group: groupLimits, kind: kInt, metavar: "N", where: everywhere,
		usage: "most header fields, up to 32768; 0 = 32768", gunicorn: "`--limit-request-fields`",
		field: func(c *Config) any { return &c.LimitRequestFields }},
	{name: "limit-request-field_size", group: groupLimits, kind: kInt, metavar: "BYTES", where: everywhere,
		usage: "longest header field; 0 = unlimited", gunicorn: "`--limit-request-field_size`",
		field: func(c *Config) any { return &c.LimitRequestFieldSize }},
	{name: "limit-request-body", group: groupLimits, kind: kSize, metavar: "BYTES", where: everywhere,
		usage: "largest request body (413 above); 0 = unlimited", gunicorn: "",
		field: func(c *Config) any { return &c.LimitRequestBody }},
	{name: "body-prefetch", group: groupLimits, kind: kSize, metavar: "BYTES", where: everywhere,
		usage: "body bytes read before the app is called", defDoc: "64KiB",
		field: func(c *Config) any { return &c.BodyPrefetch }},

	// Timeouts.
	{name: "timeout", short: "t", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "longest a request may run before its worker is restarted; 0 = none", gunicorn: "`-t`, `--timeout`",
		field: func(c *Config) any { return &c.Timeout }},
	{name: "graceful-timeout", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "time workers get to finish requests on stop or restart", gunicorn: "`--graceful-timeout`",
		field: func(c *Config) any { return &c.GracefulTimeout }},
	{name: "keep-alive", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "idle wait for the next request on a connection; 0 = no keep-alive", gunicorn: "`--keep-alive`",
		field: func(c *Config) any { return &c.KeepAlive }},
	{name: "read-header-timeout", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "from a request's first byte to its complete head",
		field: func(c *Config) any { return &c.ReadHeaderTimeout }},
	{name: "body-read-timeout", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "longest wait for more request body bytes",
		field: func(c *Config) any { return &c.BodyReadTimeout }},
	{name: "write-timeout", group: groupTimeout, kind: kDuration, metavar: "SECS", where: everywhere,
		usage: "longest wait for the client to accept response bytes",
		field: func(c *Config) any { return &c.WriteTimeout }},

	// Worker lifecycle.
	{name: "max-requests", group: groupWorkers, kind: kInt, metavar: "N", where: everywhere,
		usage: "restart a worker after N requests; 0 = never", gunicorn: "`--max-requests`",
		field: func(c *Config) any { return &c.MaxRequests }},
	{name: "max-requests-jitter", group: groupWorkers, kind: kInt, metavar: "N", where: everywhere,
		usage: "add 0..N to each worker's --max-requests", gunicorn: "`--max-requests-jitter`",
		field: func(c *Config) any { return &c.MaxRequestsJitter }},
	{name: "max-worker-memory", group: groupWorkers, kind: kInt, metavar: "MB", where: everywhere,
		usage: "restart a worker gracefully above MB of RSS; 0 = never",
		field: func(c *Config) any { return &c.MaxWorkerMemoryMB }},
	{name: "reload", group: groupWorkers, kind: kBool, where: everywhere,
		usage: "restart workers when Python sources change (development)", gunicorn: "`--reload`",
		field: func(c *Config) any { return &c.Reload }},
	{name: "reload-extra-file", group: groupWorkers, kind: kList, metavar: "FILE", where: everywhere,
		usage: "also watch FILE with --reload (repeatable)", gunicorn: "`--reload-extra-file`",
		field: func(c *Config) any { return &c.ReloadExtraFiles }},
	{name: "pid", short: "p", group: groupWorkers, kind: kString, metavar: "FILE", where: everywhere,
		usage: "write the master's PID to FILE", gunicorn: "`-p`, `--pid`",
		field: func(c *Config) any { return &c.PidFile }},

	// Logging.
	{name: "log-level", group: groupLogs, kind: kString, metavar: "LEVEL", where: everywhere,
		usage: "debug, info, warning, error or critical", gunicorn: "`--log-level`",
		field: func(c *Config) any { return &c.LogLevel }},
	{name: "error-logfile", aliases: []string{"log-file"}, group: groupLogs, kind: kString, metavar: "FILE", where: everywhere,
		usage: "error log file; - = stderr (alias --log-file)", gunicorn: "`--error-logfile`, `--log-file`",
		field: func(c *Config) any { return &c.ErrorLogFile }},
	{name: "access-logfile", group: groupLogs, kind: kString, metavar: "FILE", where: everywhere,
		usage: "access log file; - = stdout", defDoc: "off", gunicorn: "`--access-logfile`",
		field: func(c *Config) any { return &c.AccessLogFile }},
	{name: "access-log-format", group: groupLogs, kind: kString, metavar: "FORMAT", where: everywhere,
		usage: "gunicorn atoms like %(h)s %(r)s %(s)s, or json", gunicorn: "`--access-log-format`",
		field: func(c *Config) any { return &c.AccessLogFormat }},

	// Run.
	{name: "config", short: "c", group: groupRun, kind: kString, metavar: "FILE", where: inEnv | inFlags,
		usage: "read settings from the TOML file FILE", gunicorn: "`-c`, `--config` (Python, not TOML)",
		field: func(c *Config) any { return &c.ConfigFile }},
	{name: "print-config", group: groupRun, kind: kBool, where: inFlags,
		usage: "print the effective settings as TOML and exit", gunicorn: "`--print-config`",
		field: func(c *Config) any { return &c.PrintConfig }},
	{name: "version", short: "v", group: groupRun, kind: kBool, where: inFlags,
		usage: "print the version and exit", gunicorn: "`-v`, `--version`",
		field: func(c *Config) any { return &c.Version }},
	{name: "help", short: "h", group: groupRun, kind: kBool, where: inFlags,
		usage: "print this help and exit", gunicorn: "`-h`, `--help`",
		field: func(c *Config) any { return &c.Help }},
}

// byKey finds settings by normKey of their name or an alias.
var byKey = func() map[string]*setting {
	m := make(map[string]*setting)
	for _, s := range settings {
		for _, n := range append([]string{s.name}, s.aliases...) {
			if m[normKey(n)] != nil {
				panic("config: duplicate setting " + n)
			}
			m[normKey(n)] = s
		}
	}
	return m
}()

// parse converts one text value to the setting's Go value: string, bool,
// int, int64, time.Duration or []string. A list value is split on commas
// when split is true, else it is one item.
func (s *setting) parse(raw string, split bool) (any, error) {
	switch s.kind {
	case kBool:
		return parseBool(raw)
	case kInt:
		return parseInt(raw)
	case kSize:
		return parseSize(raw)
	case kDuration:
		return parseDuration(raw)
	case kList:
		if split {
			return splitList(raw), nil
		}
		if raw = strings.TrimSpace(raw); raw == "" {
			return []string(nil), nil
		}
		return []string{raw}, nil
	}
	return raw, nil
}

// assign stores a parsed value in c. A list replaces the current one, or is
// appended to it when extend is true (a repeated flag).
func (s *setting) assign(c *Config, v any, extend bool) {
	switch p := s.field(c).(type) {
	case *string:
		*p = v.(string)
	case *bool:
		*p = v.(bool)
	case *int:
		switch n := v.(type) {
		case int:
			*p = n
		case int64:
			*p = int(n)
		}
	case *int64:
		*p = v.(int64)
	case *time.Duration:
		*p = v.(time.Duration)
	case *[]string:
		switch l := v.([]string); {
		case extend:
			*p = append(*p, l...)
		case len(l) == 0:
			*p = nil
		default:
			*p = slices.Clone(l)
		}
	default:
		panic(fmt.Sprintf("config: setting %s has field type %T", s.name, p))
	}
}

// format prints the setting's current value in c as a TOML value.
func (s *setting) format(c *Config) string {
	switch p := s.field(c).(type) {
	case *string:
		return tomlString(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		q := make([]string, len(*p))
		for i, v := range *p {
			q[i] = tomlString(v)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	panic("config: unknown field type of " + s.name)
}

// display is the value as --help and docs show a default: unquoted, lists
// comma-separated, "" when empty or zero-like.
func (s *setting) display(c *Config) string {
	if s.defDoc != "" {
		return s.defDoc
	}
	switch p := s.field(c).(type) {
	case *string:
		return *p
	case *[]string:
		return strings.Join(*p, ",")
	case *time.Duration:
		if *p == 0 {
			return ""
		}
		if *p%time.Second == 0 {
			return strconv.FormatInt(int64(*p/time.Second), 10)
		}
		return p.String()
	}
	if v := s.format(c); v != "0" && v != "false" {
		return v
	}
	return ""
}
