package static

import (
	"math"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gohost/gohost/server"
)

// request holds the request fields this package reads, from one pass over
// the header. List fields (RFC 9110 §5.3) received several times are
// joined with commas; single-valued fields remember how many times they
// came, since one received twice is invalid and ignored.
type request struct {
	ifMatch, ifNoneMatch, acceptEncoding string
	acceptEncodingSeen                   bool

	ifModifiedSince, ifUnmodifiedSince, ifRange, rangeV string
	imsN, iusN, ifRangeN, rangeN                        int
}

func readHeaders(h []server.HeaderField) *request {
	q := new(request)
	for _, f := range h {
		v := trimOWS(f.Value)
		switch len(f.Name) {
		case 5:
			if strings.EqualFold(f.Name, "range") {
				q.rangeV, q.rangeN = v, q.rangeN+1
			}
		case 8:
			if strings.EqualFold(f.Name, "if-match") {
				q.ifMatch = joinList(q.ifMatch, v)
			} else if strings.EqualFold(f.Name, "if-range") {
				q.ifRange, q.ifRangeN = v, q.ifRangeN+1
			}
		case 13:
			if strings.EqualFold(f.Name, "if-none-match") {
				q.ifNoneMatch = joinList(q.ifNoneMatch, v)
			}
		case 15:
			if strings.EqualFold(f.Name, "accept-encoding") {
				q.acceptEncoding, q.acceptEncodingSeen = joinList(q.acceptEncoding, v), true
			}
		case 17:
			if strings.EqualFold(f.Name, "if-modified-since") {
				q.ifModifiedSince, q.imsN = v, q.imsN+1
			}
		case 19:
			if strings.EqualFold(f.Name, "if-unmodified-since") {
				q.ifUnmodifiedSince, q.iusN = v, q.iusN+1
			}
		}
	}
	return q
}

func joinList(list, v string) string {
	switch {
	case v == "":
		return list
	case list == "":
		return v
	}
	return list + ", " + v
}

// trimOWS removes optional whitespace (SP, HTAB) around s.
func trimOWS(s string) string { return strings.Trim(s, " \t") }

// Outcomes of the preconditions.
type outcome int

const (
	proceed outcome = iota
	notModified
	preconditionFailed
)

// evaluate applies the preconditions of a GET or HEAD to the selected
// representation, in the order of RFC 9110 §13.2.2.
func (q *request) evaluate(etag string, modified, now time.Time) outcome {
	// Last-Modified has a one-second precision: compare what was sent.
	lm := modified.Truncate(time.Second)
	// "1. When recipient is the origin server and If-Match is present,
	// evaluate the If-Match precondition: if true, continue to step 3; if
	// false, respond 412 (Precondition Failed) [...]"
	// "2. When recipient is the origin server, If-Match is not present,
	// and If-Unmodified-Since is present, evaluate the
	// If-Unmodified-Since precondition".
	if q.ifMatch != "" {
		// §13.1.1: "An origin server MUST use the strong comparison
		// function when comparing entity tags for If-Match".
		if !matchETag(q.ifMatch, etag, false) {
			return preconditionFailed
		}
	} else if t, ok := httpDate(q.ifUnmodifiedSince, q.iusN); ok && lm.After(t) {
		return preconditionFailed
	}
	// "3. When If-None-Match is present, evaluate the If-None-Match
	// precondition: [...] if false for GET/HEAD, respond 304 (Not
	// Modified)"
	// "4. When the method is GET or HEAD, If-None-Match is not present,
	// and If-Modified-Since is present, evaluate the If-Modified-Since
	// precondition: [...] if false, respond 304 (Not Modified)".
	if q.ifNoneMatch != "" {
		// §13.1.2: "A recipient MUST use the weak comparison function
		// when comparing entity tags for If-None-Match".
		if matchETag(q.ifNoneMatch, etag, true) {
			return notModified
		}
	} else if t, ok := httpDate(q.ifModifiedSince, q.imsN); ok && !t.After(now) && !lm.After(t) {
		// RFC 7232 §3.3: "A date which is later than the server's current
		// time is invalid."
		return notModified
	}
	return proceed
}

// httpDate parses a single-valued date field received n times; a field
// that is absent, repeated or not an HTTP-date is to be ignored (RFC 9110
// §13.1.3, §13.1.4).
func httpDate(v string, n int) (time.Time, bool) {
	if n != 1 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// matchETag reports whether the If-Match / If-None-Match list matches
// etag, the strong tag of an existing representation. "*" matches any.
// With weak set, W/ tags compare by their opaque part (weak comparison);
// otherwise a W/ tag never matches (strong comparison). A malformed list
// matches nothing from the malformed member on.
func matchETag(list, etag string, weak bool) bool {
	for {
		list = strings.TrimLeft(list, " \t,")
		if list == "" {
			return false
		}
		if list[0] == '*' {
			return true
		}
		isWeak := strings.HasPrefix(list, "W/")
		if isWeak {
			list = list[2:]
		}
		if len(list) < 2 || list[0] != '"' {
			return false
		}
		end := strings.IndexByte(list[1:], '"')
		if end < 0 {
			return false
		}
		tag := list[:end+2]
		list = list[end+2:]
		if tag == etag && (weak || !isWeak) {
			return true
		}
	}
}

// ifRangeHolds reports whether a Range may be honoured: there is no
// If-Range, or it names the current representation (RFC 9110 §13.1.5): an
// entity tag compared strongly, or a date equal to Last-Modified.
func (q *request) ifRangeHolds(etag string, modified time.Time) bool {
	switch {
	case q.ifRangeN == 0:
		return true
	case q.ifRangeN > 1:
		return false
	case strings.HasPrefix(q.ifRange, `"`):
		return q.ifRange == etag
	case strings.HasPrefix(q.ifRange, "W/"):
		return false // "the server MUST [...] use the strong comparison"
	}
	t, err := http.ParseTime(q.ifRange)
	return err == nil && t.Equal(modified.Truncate(time.Second))
}

// Outcomes of parseRange.
type rangeResult int

const (
	rangeIgnored       rangeResult = iota // serve the whole representation (200)
	rangeOne                              // one satisfiable range (206)
	rangeUnsatisfiable                    // 416
)

// parseRange interprets a Range field value for a representation of size
// bytes (RFC 9110 §14.1.2). Only one byte range is served; several, an
// invalid value or another unit are ignored ("A server MAY ignore the
// Range header field", §14.2).
func parseRange(v string, size int64) (start, length int64, res rangeResult) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(trimOWS(unit), "bytes") {
		return 0, 0, rangeIgnored
	}
	var spec string
	n := 0
	for elem := range strings.SplitSeq(set, ",") {
		// §5.6.1: "a recipient MUST accept empty list elements".
		if elem = trimOWS(elem); elem != "" {
			spec, n = elem, n+1
		}
	}
	if n != 1 {
		return 0, 0, rangeIgnored
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, rangeIgnored
	}
	if first == "" {
		// suffix-range: the last k bytes. "If the selected representation
		// is shorter than the specified suffix-length, the entire
		// representation is used." A zero suffix selects nothing.
		k, ok := parseDigits(last)
		switch {
		case !ok:
			return 0, 0, rangeIgnored
		case k == 0 || size == 0:
			return 0, 0, rangeUnsatisfiable
		}
		k = min(k, size)
		return size - k, k, rangeOne
	}
	a, ok := parseDigits(first)
	if !ok {
		return 0, 0, rangeIgnored
	}
	b := int64(math.MaxInt64)
	if last != "" {
		if b, ok = parseDigits(last); !ok || b < a {
			// "A range-spec is invalid if [...] the last-pos value is
			// less than the first-pos value."
			return 0, 0, rangeIgnored
		}
	}
	if a >= size {
		// "the first-pos value is less than the current length" is what
		// makes an int-range satisfiable.
		return 0, 0, rangeUnsatisfiable
	}
	end := min(b, size-1)
	return a, end - a + 1, rangeOne
}

// parseDigits parses 1*DIGIT, saturating at MaxInt64.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	return n, true
}

// codings returns the precompressed variants the client accepts, the
// preferred first: by q-value, br before gzip when equal. Without
// Accept-Encoding the identity file is served (as nginx and whitenoise
// do, though RFC 9110 §12.5.3 would allow any coding).
func (q *request) codings() []*coding {
	if !q.acceptEncodingSeen {
		return nil
	}
	br, gz := acceptQ(q.acceptEncoding)
	switch {
	case br > 0 && br >= gz:
		if gz > 0 {
			return []*coding{brotli, gzip}
		}
		return []*coding{brotli}
	case gz > 0:
		if br > 0 {
			return []*coding{gzip, brotli}
		}
		return []*coding{gzip}
	}
	return nil
}

// acceptQ returns the q-values, in thousandths, that an Accept-Encoding
// value gives to br and to gzip (or x-gzip, RFC 9110 §8.4.1.3); a coding
// not named gets the q of "*", or 0.
func acceptQ(ae string) (br, gz int) {
	br, gz, star := -1, -1, -1
	for elem := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(elem, ";")
		name = trimOWS(name)
		q := 1000
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(trimOWS(p), "="); ok && strings.EqualFold(trimOWS(k), "q") {
				q = parseQ(trimOWS(v))
			}
		}
		switch {
		case strings.EqualFold(name, "br"):
			br = max(br, q)
		case strings.EqualFold(name, "gzip") || strings.EqualFold(name, "x-gzip"):
			gz = max(gz, q)
		case name == "*":
			star = max(star, q)
		}
	}
	star = max(star, 0)
	if br < 0 {
		br = star
	}
	if gz < 0 {
		gz = star
	}
	return br, gz
}

// parseQ parses a qvalue ("0", "0.5", "1.000"; RFC 9110 §12.4.2) into
// thousandths; an invalid one counts as 0, so it never selects a coding.
func parseQ(s string) int {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' || len(s) > 5 {
			return 0
		}
		scale := 100
		for i := 2; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0
			}
			q += int(s[i]-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0 // "1" may only be followed by zeros
	}
	return q
}

// builtinTypes fixes the Content-Type of the web's usual files, whatever
// the machine's /etc/mime.types says (or lacks): a .js served as
// text/plain breaks module scripts under "X-Content-Type-Options:
// nosniff", and .woff2 or .wasm are missing from older tables.
var builtinTypes = map[string]string{
	".avif":        "image/avif",
	".css":         "text/css; charset=utf-8",
	".gif":         "image/gif",
	".htm":         "text/html; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".ico":         "image/vnd.microsoft.icon",
	".jpeg":        "image/jpeg",
	".jpg":         "image/jpeg",
	".js":          "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".mjs":         "text/javascript; charset=utf-8",
	".otf":         "font/otf",
	".pdf":         "application/pdf",
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".ttf":         "font/ttf",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
	".webm":        "video/webm",
	".webmanifest": "application/manifest+json",
	".webp":        "image/webp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".xml":         "text/xml; charset=utf-8",
}

// contentType is the media type of the file name, by its extension.
func contentType(name string) string {
	ext := path.Ext(name)
	if t, ok := builtinTypes[strings.ToLower(ext)]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
