package pybridge

import "strings"

// PyError is an exception raised by Python code, with its formatted
// traceback (or, for the app loader's own errors, one line).
type PyError struct {
	Traceback string
}

func (e *PyError) Error() string {
	return e.Summary()
}

// Summary is the last line of the traceback: "ModuleNotFoundError: …".
func (e *PyError) Summary() string {
	t := strings.TrimRight(e.Traceback, "\n")
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// HasTraceback tells whether there is more than the one summary line.
func (e *PyError) HasTraceback() bool {
	return strings.Contains(strings.TrimRight(e.Traceback, "\n"), "\n")
}
