package master

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// writePidFile writes the master's pid to path atomically. A file naming a
// live process is overwritten with a warning: after a reboot or in a
// container, pids are reused, and refusing to start would be worse.
func writePidFile(path string, log *slog.Logger) error {
	if data, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid != os.Getpid() && pid > 0 {
			if syscall.Kill(pid, 0) == nil {
				log.Warn("pid file names a running process; overwriting it", "pidfile", path, "pid", pid)
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gohost-pid-*")
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", os.Getpid())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// removePidFile removes path if it still holds our pid.
func removePidFile(path string) {
	data, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(os.Getpid()) {
		os.Remove(path)
	}
}
