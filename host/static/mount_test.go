package static

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMounts(t *testing.T) {
	base := t.TempDir()
	base, err := filepath.EvalSymlinks(base)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(base, "public", "css"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "file"), nil, 0o644))
	require.NoError(t, os.Symlink("public", filepath.Join(base, "current")))
	t.Chdir(base)

	mounts, err := ParseMounts([]string{"/static=./public", "/static/css/=public/css", "/media=" + base + "/current", "/=public"})
	require.NoError(t, err)
	assert.Equal(t, []Mount{
		{Prefix: "/static", Dir: filepath.Join(base, "public")},
		{Prefix: "/static/css", Dir: filepath.Join(base, "public", "css")},
		{Prefix: "/media", Dir: filepath.Join(base, "public")}, // symlink resolved once
		{Prefix: "/", Dir: filepath.Join(base, "public")},
	}, mounts)

	mounts, err = ParseMounts(nil)
	require.NoError(t, err)
	assert.Empty(t, mounts)

	for _, tc := range []struct{ spec, err string }{
		{"static=./public", `--static "static=./public": the prefix must start with "/"`},
		{"/static", `--static "/static": want /PREFIX=DIR, like /static=./public`},
		{"/static=", `--static "/static=": want /PREFIX=DIR, like /static=./public`},
		{"/static=./missing", `--static "/static=./missing": directory ./missing does not exist`},
		{"/static=./file", `--static "/static=./file": ./file is not a directory`},
		{"/a/../b=public", `--static "/a/../b=public": the prefix may not have empty, "." or ".." segments`},
		{"//a=public", `--static "//a=public": the prefix may not have empty, "." or ".." segments`},
		{"/a%2fb=public", `--static "/a%2fb=public": the prefix may not contain '%'`},
		{"/a b=public", `--static "/a b=public": the prefix may not contain ' '`},
		{"/a\\b=public", `--static "/a\\b=public": the prefix may not contain '\\'`},
	} {
		_, err := ParseMounts([]string{tc.spec})
		assert.EqualError(t, err, tc.err, tc.spec)
	}
	_, err = ParseMounts([]string{"/s=public", "/s/=public/css"})
	assert.EqualError(t, err, `--static "/s/=public/css": prefix /s is mounted twice`)
}
