package host

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gohost/gohost/host/config"
	"github.com/gohost/gohost/host/logs"
	"github.com/gohost/gohost/pybridge"
)

// appLoadError is an app that cannot be imported or is not a WSGI callable:
// the worker exits with ExitAppLoadError and the master stops.
type appLoadError struct {
	spec string
	err  error
}

func (e *appLoadError) Error() string { return fmt.Sprintf("load app %q: %v", e.spec, e.err) }
func (e *appLoadError) Unwrap() error { return e.err }

// startPython starts the interpreter with the user's paths and virtualenv
// and imports the app.
func startPython(cfg *config.Config, elog *logs.ErrorLog) (*pybridge.Interpreter, error) {
	venv := cfg.Virtualenv
	if venv == "" {
		venv = os.Getenv(config.EnvVirtualenv)
	}
	if venv != "" {
		abs, err := checkVirtualenv(venv)
		if err != nil {
			return nil, err
		}
		venv = abs
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	// gunicorn puts --pythonpath entries, then the working directory, in
	// front of sys.path.
	var sysPath []string
	for _, p := range cfg.PythonPath {
		for _, part := range strings.Split(p, ",") {
			if part = strings.TrimSpace(part); part != "" {
				abs, _ := filepath.Abs(part)
				sysPath = append(sysPath, abs)
			}
		}
	}
	sysPath = append(sysPath, cwd)
	interp, err := pybridge.Start(pybridge.Options{
		Program:        os.Args[0],
		Virtualenv:     venv,
		SysPath:        sysPath,
		Multithread:    cfg.Threads > 1,
		Multiprocess:   cfg.Workers > 1,
		ServerSoftware: "gohost/" + Version,
		ErrorLog:       func(line string) { elog.Error(line) },
	})
	if err != nil {
		return nil, err
	}
	if err := interp.LoadApp(cfg.App); err != nil {
		return interp, &appLoadError{spec: cfg.App, err: err}
	}
	return interp, nil
}

// checkVirtualenv makes sure dir is a virtualenv of the Python gohost embeds.
func checkVirtualenv(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--virtualenv %s: %w", dir, err)
	}
	f, err := os.Open(filepath.Join(abs, "pyvenv.cfg"))
	if err != nil {
		return "", fmt.Errorf("--virtualenv %s: not a virtualenv (no pyvenv.cfg)", dir)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if (k == "version" || k == "version_info") && !strings.HasPrefix(v, pybridge.PythonVersion+".") && v != pybridge.PythonVersion {
			return "", fmt.Errorf("--virtualenv %s: made with Python %s, but gohost embeds Python %s", dir, v, pybridge.PythonVersion)
		}
	}
	return abs, nil
}

// tracebackOf returns the Python traceback inside err, if any.
func tracebackOf(err error) string {
	var pe *pybridge.PyError
	if errors.As(err, &pe) {
		return pe.Traceback
	}
	return ""
}

// reportLoadError writes the one clear line and, when Python raised inside
// the app's code, its traceback.
func reportLoadError(elog *logs.ErrorLog, err error) {
	var pe *pybridge.PyError
	if errors.As(err, &pe) && pe.HasTraceback() {
		elog.Error(err.Error() + "\n" + pe.Traceback)
		return
	}
	elog.Error(err.Error())
}
