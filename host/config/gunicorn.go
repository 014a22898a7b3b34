package config

import "sort"

// Gunicorn maps gunicorn settings that gohost does not have under the same
// name to what to do instead. Keys are gunicorn's long flags and config
// names folded by normKey ("worker-class" for --worker-class, -k and
// worker_class). Unknown flags, config keys and GOHOST_* variables are
// reported with this hint; docs/CONFIG.md lists the table.
var Gunicorn = map[string]string{
	// Renamed: gunicorn config-file names whose flag differs.
	"wsgi-app":  "use app (or the positional APP)",
	"accesslog": "use access-logfile",
	"errorlog":  "use error-logfile",
	"loglevel":  "use log-level",
	"keepalive": "use keep-alive",
	"pidfile":   "use pid",

	// Concurrency model.
	"worker-class":       "gohost has no worker classes; use --threads N for concurrency (like -k gthread)",
	"worker-connections": "use --max-connections",
	"preload":            "gohost loads the app in each worker (nothing is forked); there is nothing to preload",
	"preload-app":        "gohost loads the app in each worker (nothing is forked); there is nothing to preload",
	"worker-tmp-dir":     "not needed: workers send heartbeats to the master over a pipe",
	"reload-engine":      "--reload watches files with inotify; there is no engine to choose",
	"spew":               "not supported; use --log-level debug",
	"check-config":       "use --print-config to check the settings",

	// Sockets and process.
	"backlog":        "not configurable; the kernel's net.core.somaxconn applies",
	"reuse-port":     "not needed: the master binds once and shares the sockets with its workers",
	"no-sendfile":    "not configurable; wsgi.file_wrapper always uses sendfile",
	"sendfile":       "not configurable; wsgi.file_wrapper always uses sendfile",
	"daemon":         "gohost stays in the foreground; run it under systemd or another supervisor",
	"env":            "set variables in gohost's own environment (e.g. systemd Environment=)",
	"raw-env":        "set variables in gohost's own environment (e.g. systemd Environment=)",
	"user":           "start gohost as that user (e.g. systemd User=)",
	"group":          "start gohost as that group (e.g. systemd Group=)",
	"initgroups":     "start gohost as the user (e.g. systemd User=), which sets its groups",
	"umask":          "unix sockets get mode 0777 like gunicorn's default; restrict access with the socket's directory",
	"name":           "not supported; processes keep the name gohost",
	"proc-name":      "not supported; processes keep the name gohost",
	"paste":          "PasteDeploy is not supported; give APP as module:callable",
	"paste-global":   "PasteDeploy is not supported; give APP as module:callable",
	"tmp-upload-dir": "not supported",

	// Logging.
	"capture-output":                    "not supported; the app's stdout and stderr are the worker's",
	"enable-stdio-inheritance":          "not needed: workers always inherit stdout and stderr",
	"logger-class":                      "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"log-config":                        "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"logconfig":                         "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"log-config-dict":                   "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"logconfig-dict":                    "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"log-config-json":                   "not supported; use --log-level, --error-logfile, --access-logfile and --access-log-format",
	"log-syslog":                        "log to stderr and let journald or syslog collect it",
	"syslog":                            "log to stderr and let journald or syslog collect it",
	"log-syslog-to":                     "log to stderr and let journald or syslog collect it",
	"syslog-addr":                       "log to stderr and let journald or syslog collect it",
	"log-syslog-prefix":                 "log to stderr and let journald or syslog collect it",
	"syslog-prefix":                     "log to stderr and let journald or syslog collect it",
	"log-syslog-facility":               "log to stderr and let journald or syslog collect it",
	"syslog-facility":                   "log to stderr and let journald or syslog collect it",
	"disable-redirect-access-to-syslog": "log to stderr and let journald or syslog collect it",
	"statsd-host":                       "use --metrics-bind ADDR for Prometheus metrics",
	"statsd-prefix":                     "use --metrics-bind ADDR for Prometheus metrics",
	"dogstatsd-tags":                    "use --metrics-bind ADDR for Prometheus metrics",

	// Proxies and TLS.
	"proxy-allow-from":        "use --forwarded-allow-ips (it also governs PROXY protocol peers)",
	"proxy-allow-ips":         "use --forwarded-allow-ips (it also governs PROXY protocol peers)",
	"secure-scheme-headers":   "not configurable; forwarded headers are trusted only from --forwarded-allow-ips",
	"forwarder-headers":       "not configurable; forwarded headers are trusted only from --forwarded-allow-ips",
	"ssl-version":             "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",
	"cert-reqs":               "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",
	"ca-certs":                "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",
	"ciphers":                 "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",
	"do-handshake-on-connect": "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",
	"suppress-ragged-eofs":    "only --certfile and --keyfile are supported; terminate TLS in a proxy for more control",

	// HTTP parsing leniency.
	"strip-header-spaces":                "not configurable; gohost parses HTTP strictly",
	"permit-unconventional-http-method":  "not configurable; gohost parses HTTP strictly",
	"permit-unconventional-http-version": "not configurable; gohost parses HTTP strictly",
	"casefold-http-method":               "not configurable; gohost parses HTTP strictly",
	"permit-obsolete-folding":            "not configurable; gohost parses HTTP strictly",
	"header-map":                         "not configurable",

	// Server hooks (gunicorn.conf.py functions).
	"on-starting": hookHint, "on-reload": hookHint, "when-ready": hookHint, "pre-fork": hookHint,
	"post-fork": hookHint, "post-worker-init": hookHint, "worker-int": hookHint,
	"worker-abort": hookHint, "pre-exec": hookHint, "pre-request": hookHint,
	"post-request": hookHint, "child-exit": hookHint, "worker-exit": hookHint,
	"nworkers-changed": hookHint, "on-exit": hookHint, "ssl-context": hookHint,
}

const hookHint = "server hooks are not supported; run such code at import time of the app module"

// gunicornShort maps gunicorn's one-letter flags gohost lacks to their
// long names.
var gunicornShort = map[string]string{
	"k": "worker-class", "D": "daemon", "e": "env", "u": "user", "g": "group",
	"m": "umask", "n": "name", "R": "enable-stdio-inheritance",
}

// hint says what to do about an unknown setting name (a long flag without
// dashes, a config key or a GOHOST_ suffix): the migration hint, or a
// "did you mean" for a close known name spelled as style() prints it.
func hint(name string, style func(*setting) string) string {
	k := normKey(name)
	if h, ok := Gunicorn[k]; ok {
		return h
	}
	best, dist := "", 3 // suggest only within 2 edits
	for _, s := range settings {
		for _, n := range append([]string{s.name}, s.aliases...) {
			if d := editDistance(k, normKey(n)); d < dist {
				best, dist = style(s), d
			}
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// gunicornRows is the migration table sorted by name, for docs/CONFIG.md.
func gunicornRows() [][2]string {
	short := make(map[string]string)
	for s, long := range gunicornShort {
		short[long] = s
	}
	keys := make([]string, 0, len(Gunicorn))
	for k := range Gunicorn {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([][2]string, 0, len(keys))
	for _, k := range keys {
		name := "`" + k + "`"
		if s, ok := short[k]; ok {
			name = "`-" + s + "`, " + name
		}
		rows = append(rows, [2]string{name, Gunicorn[k]})
	}
	return rows
}
