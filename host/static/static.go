package static

import (
	"cmp"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/server"
)

// cacheControl is sent with every file (200, 206 and 304).
const cacheControl = "public, max-age=3600"

// handler serves the mounts and passes everything else to next.
type handler struct {
	mounts []mount // longest prefix first; read-only after New
	next   server.Handler
	log    *slog.Logger
}

// mount is a Mount as matched against request paths.
type mount struct {
	prefix string // "/static"; "" for the mount "/"
	dir    string // absolute
}

// New returns a handler that serves requests for paths under the mounts'
// prefixes (see the package documentation) and passes every other request
// to next. The mounts usually come from ParseMounts; a relative Dir is
// made absolute now. A nil next answers 404; a nil log is slog.Default().
func New(mounts []Mount, next server.Handler, log *slog.Logger) server.Handler {
	h := &handler{next: next, log: log}
	if h.next == nil {
		h.next = server.HandlerFunc(func(w *server.ResponseWriter, _ *server.Request) {
			reply(w, statusNotFound)
		})
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	for _, m := range mounts {
		dir, err := filepath.Abs(m.Dir)
		if err != nil {
			dir = filepath.Clean(m.Dir)
		}
		h.mounts = append(h.mounts, mount{prefix: strings.TrimSuffix(m.Prefix, "/"), dir: dir})
	}
	// Longest prefix first: /static/img wins over /static.
	slices.SortStableFunc(h.mounts, func(a, b mount) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	return h
}

// Statuses this package answers with.
const (
	statusOK                 = "200 OK"
	statusPartialContent     = "206 Partial Content"
	statusNotModified        = "304 Not Modified"
	statusForbidden          = "403 Forbidden"
	statusNotFound           = "404 Not Found"
	statusMethodNotAllowed   = "405 Method Not Allowed"
	statusPreconditionFailed = "412 Precondition Failed"
	statusRangeNotSatisfied  = "416 Range Not Satisfiable"
)

// Serve implements server.Handler.
func (h *handler) Serve(w *server.ResponseWriter, r *server.Request) {
	m, rel, ok := h.match(r.Path)
	if !ok {
		h.next.Serve(w, r)
		return
	}
	if r.Method != "GET" && r.Method != "HEAD" {
		// RFC 9110 §15.5.6: "The origin server MUST generate an Allow
		// header field in a 405 response".
		reply(w, statusMethodNotAllowed, server.HeaderField{Name: "Allow", Value: "GET, HEAD"})
		return
	}
	name, ok := fileName(rel)
	if !ok {
		h.log.Debug("static: refused path", "path", r.Path)
		reply(w, statusNotFound)
		return
	}
	h.serveFile(w, r, m, name)
}

// match finds the mount for the raw request path and returns the rest of
// the decoded path after its prefix ("" or starting with "/").
func (h *handler) match(raw string) (*mount, string, bool) {
	if len(h.mounts) == 0 {
		return nil, "", false
	}
	p := raw
	if strings.IndexByte(raw, '%') >= 0 {
		p = environ.UnquotePath(raw) // route on the path the app would see
	}
	for i := range h.mounts {
		m := &h.mounts[i]
		// At a segment boundary: /static covers /static and /static/...,
		// not /staticfoo.
		if strings.HasPrefix(p, m.prefix) && (len(p) == len(m.prefix) || p[len(m.prefix)] == '/') {
			return m, p[len(m.prefix):], true
		}
	}
	return nil, "", false
}

// fileName turns the decoded remainder of a path after a mount prefix into
// a slash-separated name relative to the mount directory, or refuses it:
// the mount itself and anything ending in "/" (directories), NUL and
// backslash anywhere, and any segment starting with "." (dotfiles, "."
// and ".."). Empty segments are merged.
func fileName(rel string) (string, bool) {
	if rel == "" || rel[len(rel)-1] == '/' || strings.ContainsAny(rel, "\x00\\") {
		return "", false
	}
	merge := false
	for seg := range strings.SplitSeq(rel[1:], "/") {
		switch {
		case seg == "":
			merge = true
		case seg[0] == '.':
			return "", false
		}
	}
	name := rel[1:]
	if merge {
		name = path.Clean(strings.TrimLeft(name, "/"))
	}
	return name, true
}

// coding is a precompressed variant: the file name+ext served with
// Content-Encoding: name.
type coding struct {
	name, ext, etagSuffix string
}

var (
	brotli = &coding{"br", ".br", "-br"}
	gzip   = &coding{"gzip", ".gz", "-gz"}
)

// serveFile answers a GET or HEAD for the file name under m.
func (h *handler) serveFile(w *server.ResponseWriter, r *server.Request, m *mount, name string) {
	// A fresh os.Root per request: nothing goes stale, and every open
	// below stays inside the directory, symbolic links included, without
	// a race between a check and the open.
	root, err := os.OpenRoot(m.dir)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer root.Close()
	f, fi, err := openRegular(root, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()

	q := readHeaders(r.Header)
	// RFC 9110 §14.2: "A server MUST ignore a Range header field received
	// with a request method that is unrecognized or for which range
	// handling is not defined. For this specification, GET is the only
	// method for which range handling is defined."
	isRange := r.Method == "GET" && q.rangeN > 0

	// Precompressed siblings. A range request gets the identity file, so
	// that ranges never apply to an encoded variant.
	var enc *coding
	var prefs []*coding
	if !isRange {
		prefs = q.codings()
	}
	vary := false
	for _, c := range prefs {
		cf, cfi, err := openRegular(root, name+c.ext)
		if err != nil {
			continue
		}
		defer cf.Close()
		f, fi, enc, vary = cf, cfi, c, true
		break
	}
	// The response varies whenever a sibling exists, served or not.
	for _, c := range [...]*coding{brotli, gzip} {
		if vary {
			break
		}
		if slices.Contains(prefs, c) {
			continue // tried above: absent or not a regular file
		}
		st, err := root.Stat(name + c.ext)
		vary = err == nil && st.Mode().IsRegular()
	}

	suffix := ""
	if enc != nil {
		suffix = enc.etagSuffix
	}
	etag := makeETag(fi, suffix)
	modified := fi.ModTime()
	hdr := make([]server.HeaderField, 0, 10)
	hdr = append(hdr,
		server.HeaderField{Name: "ETag", Value: etag},
		server.HeaderField{Name: "Last-Modified", Value: modified.UTC().Format(http.TimeFormat)},
		server.HeaderField{Name: "Cache-Control", Value: cacheControl},
	)
	if vary {
		hdr = append(hdr, server.HeaderField{Name: "Vary", Value: "Accept-Encoding"})
	}

	switch q.evaluate(etag, modified, time.Now()) {
	case preconditionFailed:
		reply(w, statusPreconditionFailed)
		return
	case notModified:
		// RFC 9110 §15.4.5: the 304 carries the Cache-Control, ETag and
		// Vary the 200 would have; Last-Modified too, for caches that
		// validate by date. No body, no representation metadata.
		h.start(w, statusNotModified, hdr)
		return
	}

	hdr = append(hdr, server.HeaderField{Name: "Content-Type", Value: contentType(name)})
	if enc != nil {
		hdr = append(hdr, server.HeaderField{Name: "Content-Encoding", Value: enc.name})
	} else {
		hdr = append(hdr, server.HeaderField{Name: "Accept-Ranges", Value: "bytes"})
	}
	status := statusOK
	size := fi.Size()
	off, n := int64(0), size
	// A Range field received twice is invalid: ignored.
	if isRange && q.rangeN == 1 && q.ifRangeHolds(etag, modified) {
		start, length, res := parseRange(q.rangeV, size)
		switch res {
		case rangeOne:
			status, off, n = statusPartialContent, start, length
			hdr = append(hdr, server.HeaderField{Name: "Content-Range",
				Value: "bytes " + itoa(start) + "-" + itoa(start+length-1) + "/" + itoa(size)})
		case rangeUnsatisfiable:
			// RFC 9110 §15.5.17: "a server generating a 416 response to a
			// byte-range request SHOULD generate a Content-Range header
			// field specifying the current length of the selected
			// representation".
			reply(w, statusRangeNotSatisfied, server.HeaderField{Name: "Content-Range", Value: "bytes */" + itoa(size)})
			return
		}
	}
	hdr = append(hdr, server.HeaderField{Name: "Content-Length", Value: itoa(n)})
	if !h.start(w, status, hdr) || r.Method == "HEAD" || n == 0 {
		return
	}
	// A file that shrank since the stat ends the body early: the server
	// then closes the connection, as the client cannot tell where the
	// response ends.
	if _, err := w.SendFile(f, off, n); err != nil {
		h.log.Debug("static: sending file", "path", r.Path, "err", err)
	}
}

func (h *handler) start(w *server.ResponseWriter, status string, hdr []server.HeaderField) bool {
	if err := w.Start(status, hdr); err != nil {
		h.log.Error("static: invalid response head", "status", status, "err", err)
		w.Abort()
		return false
	}
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// errNotRegular refuses directories, devices, FIFOs and sockets.
var errNotRegular = errors.New("not a regular file")

// openRegular opens name in root when it is a regular file.
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer. It changes
	// nothing for the regular files that are served.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// fail answers a file that cannot be served: 403 when permission was
// denied, else 404 (missing, not a regular file, a symbolic link leading
// out of the mount). The body never names a file system path.
func (h *handler) fail(w *server.ResponseWriter, r *server.Request, err error) {
	h.log.Debug("static: cannot serve", "path", r.Path, "err", err)
	if errors.Is(err, fs.ErrPermission) {
		reply(w, statusForbidden)
		return
	}
	reply(w, statusNotFound)
}

// reply sends a short plain-text response: the reason phrase of status.
func reply(w *server.ResponseWriter, status string, extra ...server.HeaderField) {
	hdr := make([]server.HeaderField, 0, 1+len(extra))
	hdr = append(hdr, server.HeaderField{Name: "Content-Type", Value: "text/plain; charset=utf-8"})
	hdr = append(hdr, extra...)
	if w.Start(status, hdr) == nil {
		w.WriteFinal([]byte(status[4:] + "\n"))
	}
}

// makeETag returns the strong entity tag "<mtime ns hex>-<size hex><suffix>".
// Nanoseconds, not seconds: a file rewritten within the same second with
// the same size still gets a new tag (on file systems that keep them).
func makeETag(fi fs.FileInfo, suffix string) string {
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(fi.ModTime().UnixNano()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(fi.Size()), 16)
	b = append(b, suffix...)
	b = append(b, '"')
	return string(b)
}
