package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/gohost/gohost/host/listen"
	"github.com/gohost/gohost/host/logs"
)

// Problems is every problem Validate found, each a clear one-line error.
// Its Error joins them with "; " so that it prints as one line.
type Problems []error

func (p Problems) Error() string {
	s := make([]string, len(p))
	for i, e := range p {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (p Problems) Unwrap() []error { return p }

// gunicorn's hard limits (gunicorn/http/message.py).
const (
	maxRequestLine   = 8190
	maxRequestFields = 32768
)

// appRe matches APP: a dotted module path, optionally ':' and an
// expression (an attribute path or a factory call, checked by Python).
var appRe = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*(\.[\p{L}_][\p{L}\p{N}_]*)*(:.*\S.*)?$`)

// Validate checks every setting and returns nil or Problems, one error per
// problem, like "--workers must be ≥ 1, got 0".
func (c *Config) Validate() error {
	var ps Problems
	bad := func(format string, args ...any) { ps = append(ps, fmt.Errorf(format, args...)) }
	atLeast := func(flag string, v, min int64) {
		if v < min {
			bad("--%s must be ≥ %d, got %d", flag, min, v)
		}
	}
	inRange := func(flag string, v, min, max int64) {
		if v < min || v > max {
			bad("--%s must be from %d to %d, got %d", flag, min, max, v)
		}
	}
	duration := func(flag string, d time.Duration) {
		if d < 0 {
			bad("--%s must be ≥ 0, got %s", flag, d)
		}
	}

	if c.App != "" && !appRe.MatchString(c.App) {
		bad("APP %q: want MODULE or MODULE:CALLABLE, like myapp:application", c.App)
	}

	if len(c.Bind) == 0 {
		bad("--bind: no address to listen on")
	}
	seen := make(map[string]bool)
	for _, b := range c.Bind {
		a, err := listen.Parse(b)
		if err != nil {
			bad("--bind: %v", err)
			continue
		}
		if seen[a.String()] {
			bad("--bind %s is given twice", a)
		}
		seen[a.String()] = true
	}
	atLeast("workers", int64(c.Workers), 1)
	atLeast("threads", int64(c.Threads), 1)
	atLeast("max-connections", int64(c.MaxConnections), 0)
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("--certfile and --keyfile must be given together")
	}
	for _, ip := range c.ForwardedAllowIPs {
		if ip == "*" || net.ParseIP(ip) != nil {
			continue
		}
		if _, _, err := net.ParseCIDR(ip); err != nil {
			bad("--forwarded-allow-ips: %q is not an IP address, a CIDR network or *", ip)
		}
	}
	for _, st := range c.Static {
		prefix, dir, ok := strings.Cut(st, "=")
		if !ok || !strings.HasPrefix(prefix, "/") || strings.TrimSpace(dir) == "" {
			bad("--static %q: want /PREFIX=DIR, like /static=./public", st)
		}
	}
	if c.MetricsBind != "" {
		a, err := listen.Parse(c.MetricsBind)
		switch {
		case err != nil:
			bad("--metrics-bind: %v", err)
		case seen[a.String()]:
			bad("--metrics-bind %s is also a --bind address", a)
		}
	}

	if _, err := logs.ParseLevel(c.LogLevel); err != nil {
		bad("--log-level: %v", err)
	}
	if c.ErrorLogFile == "" {
		bad(`--error-logfile: empty path (use "-" for stderr)`)
	}
	if err := logs.CheckFormat(c.AccessLogFormat); err != nil {
		bad("--access-log-format: %v", err)
	}

	inRange("limit-request-line", int64(c.LimitRequestLine), 0, maxRequestLine)
	inRange("limit-request-fields", int64(c.LimitRequestFields), 0, maxRequestFields)
	atLeast("limit-request-field_size", int64(c.LimitRequestFieldSize), 0)
	atLeast("limit-request-body", c.LimitRequestBody, 0)
	atLeast("body-prefetch", int64(c.BodyPrefetch), 0)

	duration("timeout", c.Timeout)
	duration("graceful-timeout", c.GracefulTimeout)
	duration("keep-alive", c.KeepAlive)
	duration("read-header-timeout", c.ReadHeaderTimeout)
	duration("body-read-timeout", c.BodyReadTimeout)
	duration("write-timeout", c.WriteTimeout)

	atLeast("max-requests", int64(c.MaxRequests), 0)
	atLeast("max-requests-jitter", int64(c.MaxRequestsJitter), 0)
	atLeast("max-worker-memory", int64(c.MaxWorkerMemoryMB), 0)

	if len(ps) == 0 {
		return nil
	}
	return ps
}
