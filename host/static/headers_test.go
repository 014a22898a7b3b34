package static

import (
	"github.com/gohost/gohost/environ"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRange(t *testing.T) {
	const ign, one, uns = rangeIgnored, rangeOne, rangeUnsatisfiable
	for _, tc := range []struct {
		v             string
		size          int64
		start, length int64
		res           rangeResult
	}{
		{"bytes=0-0", 10, 0, 1, one},
		{"bytes=0-9", 10, 0, 10, one},
		{"bytes=0-100", 10, 0, 10, one},
		{"bytes=9-", 10, 9, 1, one},
		{"bytes=-1", 10, 9, 1, one},
		{"bytes=-10", 10, 0, 10, one},
		{"bytes=-11", 10, 0, 10, one},
		{"bytes=,,1-2,", 10, 1, 2, one},
		{"BYTES=1-2", 10, 1, 2, one},
		{"bytes=0-" + "9223372036854775807", 10, 0, 10, one},
		{"bytes=0-" + "99999999999999999999", 10, 0, 10, one},
		{"bytes=10-", 10, 0, 0, uns},
		{"bytes=10-20", 10, 0, 0, uns},
		{"bytes=-0", 10, 0, 0, uns},
		{"bytes=0-", 0, 0, 0, uns},
		{"bytes=-5", 0, 0, 0, uns},
		{"bytes=0-1,3-4", 10, 0, 0, ign},
		{"bytes=0-1, 20-30", 10, 0, 0, ign},
		{"bytes=2-1", 10, 0, 0, ign},
		{"bytes=", 10, 0, 0, ign},
		{"bytes=-", 10, 0, 0, ign},
		{"bytes=1", 10, 0, 0, ign},
		{"bytes=+1-2", 10, 0, 0, ign},
		{"bytes=1-+2", 10, 0, 0, ign},
		{"bytes=0x1-2", 10, 0, 0, ign},
		{"bytes=--1", 10, 0, 0, ign},
		{"bytes 0-1", 10, 0, 0, ign},
		{"bits=0-1", 10, 0, 0, ign},
		{"", 10, 0, 0, ign},
	} {
		start, length, res := parseRange(tc.v, tc.size)
		assert.Equal(t, tc.res, res, "%q size %d", tc.v, tc.size)
		if res == rangeOne {
			assert.Equal(t, [2]int64{tc.start, tc.length}, [2]int64{start, length}, "%q size %d", tc.v, tc.size)
		}
	}
	n, ok := parseDigits("99999999999999999999")
	assert.True(t, ok)
	assert.Equal(t, int64(math.MaxInt64), n)
}

func TestMatchETag(t *testing.T) {
	const tag = `"abc-1"`
	for _, tc := range []struct {
		list         string
		weak, strong bool
	}{
		{`"abc-1"`, true, true},
		{`W/"abc-1"`, true, false},
		{`*`, true, true},
		{`"x", "abc-1"`, true, true},
		{`"x",W/"abc-1"`, true, false},
		{`"a,b", "abc-1"`, true, true}, // a comma inside a tag
		{` , ,"abc-1"`, true, true},
		{`"abc-2"`, false, false},
		{`abc-1`, false, false},
		{`"abc-1`, false, false},
		{`w/"abc-1"`, false, false}, // W/ is case-sensitive
		{`"x" junk "abc-1"`, false, false},
		{``, false, false},
	} {
		assert.Equal(t, tc.weak, matchETag(tc.list, tag, true), "weak %q", tc.list)
		assert.Equal(t, tc.strong, matchETag(tc.list, tag, false), "strong %q", tc.list)
	}
}

func TestEvaluateOrder(t *testing.T) {
	const etag = `"e"`
	mod := time.Date(2024, 1, 2, 3, 4, 5, 999_000_000, time.UTC)
	now := mod.Add(time.Hour)
	same := "Tue, 02 Jan 2024 03:04:05 GMT" // Last-Modified as sent
	for _, tc := range []struct {
		q    request
		want outcome
	}{
		{request{}, proceed},
		{request{ifModifiedSince: same, imsN: 1}, notModified},
		{request{ifUnmodifiedSince: same, iusN: 1}, proceed},
		{request{ifMatch: `"x"`, ifNoneMatch: etag}, preconditionFailed},
		{request{ifMatch: etag, ifNoneMatch: etag}, notModified},
		{request{ifNoneMatch: `"x"`, ifModifiedSince: same, imsN: 1}, proceed},
	} {
		assert.Equal(t, tc.want, tc.q.evaluate(etag, mod, now), "%+v", tc.q)
	}
}

func TestCodings(t *testing.T) {
	for _, tc := range []struct {
		ae     string
		br, gz int
		want   []*coding
	}{
		{"br", 1000, 0, []*coding{brotli}},
		{"gzip, br", 1000, 1000, []*coding{brotli, gzip}},
		{"gzip;q=0.9, br;q=0.8", 800, 900, []*coding{gzip, brotli}},
		{"br;q=0.001", 1, 0, []*coding{brotli}},
		{"*;q=0.5, gzip;q=0", 500, 0, []*coding{brotli}},
		{"br;q=1.001", 0, 0, nil},
		{"br;q=2", 0, 0, nil},
		{"br;q=0.1234", 0, 0, nil},
		{"br;q=", 0, 0, nil},
		{"br;Q=0.5", 500, 0, []*coding{brotli}},
		{"br;level=1;q=1.000", 1000, 0, []*coding{brotli}},
		{"identity", 0, 0, nil},
		{"", 0, 0, nil},
	} {
		br, gz := acceptQ(tc.ae)
		assert.Equal(t, [2]int{tc.br, tc.gz}, [2]int{br, gz}, tc.ae)
		q := request{acceptEncoding: tc.ae, acceptEncodingSeen: true}
		assert.Equal(t, tc.want, q.codings(), tc.ae)
	}
}

func TestFileName(t *testing.T) {
	for rel, want := range map[string]string{
		"/a.css":        "a.css",
		"/css/a.css":    "css/a.css",
		"//css///a.css": "css/a.css",
		"/a..b":         "a..b",
		"/a.":           "a.",
		"/":             "",
		"":              "",
		"/css/":         "",
		"/../a":         "",
		"/css/../a":     "",
		"/./a":          "",
		"/.git/config":  "",
		"/a\\..\\b":     "",
		"/a\x00b":       "",
	} {
		got, ok := fileName(rel)
		assert.Equal(t, want != "", ok, "%q", rel)
		assert.Equal(t, want, got, "%q", rel)
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		"/a%20b":     "/a b",
		"/a%2Fb%2fc": "/a/b/c",
		"/%2e%2E":    "/..",
		"/100%":      "/100%",
		"/%zz/%4/%":  "/%zz/%4/%",
		"/%00":       "/\x00",
	} {
		assert.Equal(t, want, environ.UnquotePath(in), in)
	}
}
