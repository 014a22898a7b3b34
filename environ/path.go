package environ

import "strings"

// unhex returns the value of hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendUnquote appends s percent-decoded to bytes, exactly like Python's
// urllib.parse.unquote_to_bytes (what gunicorn and wsgiref use for
// PATH_INFO): every "%XX" with two hex digits becomes the byte 0xXX —
// "%2F" included, and bytes that are not UTF-8 are kept as they are — and a
// "%" not followed by two hex digits is kept literally. "+" is not a space
// in a path.
// UnquotePath percent-decodes a request path exactly as PATH_INFO is
// decoded, for code that must route on the path the app will see (the
// static-file handler).
func UnquotePath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	return string(appendUnquote(make([]byte, 0, len(s)), s))
}

func appendUnquote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi >= 0 && lo >= 0 {
				b = append(b, byte(hi<<4|lo))
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return b
}
