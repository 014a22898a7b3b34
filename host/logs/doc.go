// Package logs writes gohost's two logs in gunicorn's formats.
//
// The error log is a *slog.Logger whose Handler prints gunicorn's line
//
//	[2026-11-23 12:00:00 +0000] [4242] [INFO] Booting worker key=value
//
// at levels debug, info, warning, error and critical (LevelCritical).
//
// The access log is an AccessLogger that formats one AccessRecord per
// request either with gunicorn's --access-log-format atoms (%(h)s, %(r)s,
// %({header}i)s, …; DefaultAccessFormat is gunicorn's default) or, for the
// format "json", as one JSON object per line.
//
// Both write to a File: a path opened for appending, or "-" for the standard
// stream. Each line reaches the file with one write call, so lines from
// concurrent goroutines (and from the several worker processes sharing the
// file, through O_APPEND) never interleave. Reopen, called on SIGUSR1 after
// logrotate moved the file away, switches to a fresh file at the same path
// without losing or splitting a line.
package logs
