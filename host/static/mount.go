package static

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mount maps the URL path prefix Prefix to the directory Dir.
type Mount struct {
	// Prefix starts with "/" and has no trailing slash, except "/" itself,
	// which covers every path.
	Prefix string
	// Dir is an absolute path to a directory; ParseMounts also resolves
	// its symbolic links.
	Dir string
}

// ParseMounts parses --static values of the form "/PREFIX=DIR". The prefix
// must start with "/" and have no empty, "." or ".." segments and no "%",
// "?", "#", backslash or control characters; a trailing slash is dropped.
// DIR must be an existing directory; it is made absolute (relative to the
// current directory) and its symbolic links are resolved. Two mounts may
// not have the same prefix. Errors are one line naming the bad value.
func ParseMounts(specs []string) ([]Mount, error) {
	mounts := make([]Mount, 0, len(specs))
	seen := make(map[string]bool, len(specs))
	for _, spec := range specs {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("--static %q: "+format, append([]any{spec}, a...)...)
		}
		prefix, dir, ok := strings.Cut(spec, "=")
		if !ok || dir == "" {
			return nil, bad("want /PREFIX=DIR, like /static=./public")
		}
		prefix, err := cleanPrefix(prefix)
		if err != nil {
			return nil, bad("%v", err)
		}
		if seen[prefix] {
			return nil, bad("prefix %s is mounted twice", prefix)
		}
		seen[prefix] = true
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, bad("%v", err)
		}
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, bad("directory %s does not exist", dir)
			}
			return nil, bad("%v", unwrapPath(err))
		}
		fi, err := os.Stat(resolved)
		switch {
		case err != nil:
			return nil, bad("%v", unwrapPath(err))
		case !fi.IsDir():
			return nil, bad("%s is not a directory", dir)
		}
		mounts = append(mounts, Mount{Prefix: prefix, Dir: resolved})
	}
	return mounts, nil
}

// cleanPrefix validates a mount prefix and drops a trailing slash.
func cleanPrefix(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errors.New(`the prefix must start with "/"`)
	}
	if p == "/" {
		return p, nil
	}
	p = strings.TrimSuffix(p, "/")
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c == 0x7f || strings.IndexByte(`%?#\`, c) >= 0 {
			return "", fmt.Errorf("the prefix may not contain %q", c)
		}
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("the prefix may not have empty, %q or %q segments", ".", "..")
		}
	}
	return p, nil
}

// unwrapPath renders a *fs.PathError as "path: cause", without the name
// of the system call.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
