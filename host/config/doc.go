// Package config holds gohost's settings: one Config filled from built-in
// defaults, a TOML config file, GOHOST_* environment variables and
// command-line flags, in that order of precedence (each layer overrides the
// ones before it):
//
//	defaults  <  config file (-c FILE)  <  GOHOST_* environment  <  flags
//
// One table of settings drives every layer, --help, --print-config and the
// reference in docs/CONFIG.md, so a setting has the same name everywhere:
//
//	flag            --limit-request-line 4094
//	config key      limit-request-line = 4094   (or limit_request_line)
//	environment     GOHOST_LIMIT_REQUEST_LINE=4094
//
// Flag names are gunicorn's. Lists (--bind, --pythonpath, …) are replaced
// by a layer that sets them, then extended by repeated flags; in the
// environment they are comma-separated. Durations are seconds (gunicorn
// style: 30, 0.5) or Go durations (500ms, 1m30s). Byte sizes are bytes, or
// take a binary suffix (64KiB, 10M).
//
// Load does the layering and calls Validate; gunicorn flags gohost does not
// have are rejected with a hint from the Gunicorn migration table.
package config
