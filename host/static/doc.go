// Package static serves files from directories mounted under URL prefixes
// (--static /static=./dir), in Go, without reaching the Python pool: the
// job whitenoise or an nginx location does in front of gunicorn.
//
// New wraps the application's server.Handler: a request whose
// percent-decoded path is a mount's prefix or lies under it (at a segment
// boundary: /static does not cover /staticfoo) is answered here; every
// other request goes to the next handler. The longest matching prefix
// wins. Prefixes match the full request path, before --root-path is
// removed.
//
// # Mapping a path to a file
//
// The path is percent-decoded exactly as PATH_INFO is (%2F included; a
// "%" without two hex digits stays literal), so the routing decision is
// the one the application would see. Under the prefix, the remainder is
// refused with 404 when it contains NUL or a backslash, when a segment
// starts with "." (dotfiles, and "." and ".." however they were encoded),
// or when it names a directory (no listings, no index files). Empty
// segments are merged. The file is then opened through an os.Root on the
// mount directory, so a symbolic link is followed only while it stays
// inside the directory: a link (or a link in a parent) that points
// outside is refused with 404, and there is no window between a check and
// the open for a link to be swapped in. Only regular files are served (a
// FIFO never blocks a request: files are opened non-blocking).
//
// Only GET and HEAD are served; other methods under a prefix get 405 with
// "Allow: GET, HEAD". Permission errors give 403, every other failure 404;
// neither response reveals a file system path (the details are logged at
// debug level).
//
// # Responses
//
// A 200 carries Content-Type (a built-in table for the web's usual types,
// so the answer does not depend on the machine's /etc/mime.types, then
// mime.TypeByExtension, then application/octet-stream), Content-Length,
// Last-Modified, a strong ETag "<mtime ns hex>-<size hex>", Accept-Ranges:
// bytes, Cache-Control: public, max-age=3600, and Vary: Accept-Encoding
// when a precompressed sibling exists. The body goes out with
// server.ResponseWriter.SendFile (sendfile(2) on TCP); HEAD gets the same
// head without a body.
//
// Preconditions follow RFC 9110 §13.2.2, in its order: If-Match (strong
// comparison) then, without it, If-Unmodified-Since, failing with 412;
// If-None-Match (weak comparison, lists and "*") then, without it,
// If-Modified-Since, giving 304 with the validators, Cache-Control and
// Vary but no body. Dates compare at the one-second precision of
// Last-Modified.
//
// Range (RFC 9110 §14): one range of GET, "a-b", "a-" or "-n", gives 206
// with Content-Range; an unsatisfiable one gives 416 with "Content-Range:
// bytes */size". Several ranges, a syntactically invalid header, another
// unit, or an If-Range (entity tag compared strongly, or a date equal to
// Last-Modified) that does not match give the whole file with 200.
//
// # Precompressed siblings
//
// When "name.br" or "name.gz" exists next to "name" as a regular file and
// the client's Accept-Encoding accepts br or gzip (q > 0, explicitly or
// through "*"), the sibling is sent with Content-Encoding and the type of
// "name"; br is preferred unless gzip has the higher q. Its ETag is its
// own with a "-br" or "-gz" suffix. A GET with a Range header is always
// given the identity file, so ranges never apply to an encoded variant,
// and encoded responses do not advertise Accept-Ranges.
//
// # Staleness
//
// Nothing about files is cached: every request opens and stats what it
// serves, so changed files are served changed, with new validators. A
// conditional hit costs opens and fstats, never a read. The mount
// directory itself is resolved (symbolic links included) once, by
// ParseMounts: a deployment that switches a "current" symlink to a new
// release keeps serving the release the worker loaded its code from until
// the workers are reloaded, so pages and their static files agree.
package static
