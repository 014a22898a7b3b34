package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteTOML writes the settings as a TOML config file that Load reads back
// to the same Config (--print-config). Run-control settings (config,
// print-config, version, help) are left out.
func (c *Config) WriteTOML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# gohost settings (gohost --print-config)")
	for _, g := range groups {
		if g == groupRun {
			continue
		}
		fmt.Fprintf(bw, "\n# %s\n", g)
		for _, s := range settings {
			if s.group == g && s.where&inFile != 0 {
				fmt.Fprintf(bw, "%s = %s\n", s.key(), s.format(c))
			}
		}
	}
	return bw.Flush()
}

// Usage returns the --help text.
func Usage() string {
	var b strings.Builder
	b.WriteString(`Usage: gohost [OPTIONS] APP

Serve the WSGI application APP with a master process and --workers worker
processes, each running --threads Python threads: a drop-in for gunicorn.

APP names the application, as with gunicorn:
  module:attr                  attribute attr of module (dotted names too)
  module                       the attribute named application
  module:factory()             the result of calling factory
  module:factory('arg', x=1)   the same, called with literal arguments

Settings are read from, lowest precedence first:
  built-in defaults < config file (-c FILE) < GOHOST_* environment < flags
A config file is TOML with keys named like the long flags (workers = 4,
bind = ["127.0.0.1:8000"]); GOHOST_WORKERS=4 and GOHOST_BIND=a,b set them in
the environment. Durations are seconds (30, 0.5) or Go durations (500ms, 2m);
sizes are bytes or 64KiB, 10MiB.
`)
	d := Default()
	for _, g := range groups {
		fmt.Fprintf(&b, "\n%s:\n", g)
		for _, s := range settings {
			if s.group != g || s.where&inFlags == 0 {
				continue
			}
			left := "      --" + s.name
			if s.short != "" {
				left = "  -" + s.short + ", --" + s.name
			}
			if s.metavar != "" {
				left += " " + s.metavar
			}
			text := s.usage
			if def := s.display(d); def != "" && s.where&inFile != 0 {
				text += " (default " + def + ")"
			}
			lines := wrap(text, usageWidth-usageColumn)
			if len(left) >= usageColumn-1 {
				fmt.Fprintf(&b, "%s\n", left)
			} else {
				fmt.Fprintf(&b, "%-*s%s\n", usageColumn, left, lines[0])
				lines = lines[1:]
			}
			for _, l := range lines {
				fmt.Fprintf(&b, "%*s%s\n", usageColumn, "", l)
			}
		}
	}
	b.WriteString(`
Gunicorn flags gohost lacks are rejected with a hint; docs/CONFIG.md lists
every setting, its environment variable, config key and gunicorn equivalent.
`)
	return b.String()
}

// --help layout: flag column, then text wrapped to usageWidth.
const (
	usageColumn = 34
	usageWidth  = 80
)

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}
