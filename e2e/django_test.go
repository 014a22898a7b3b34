package e2e

// The Django example (python/djangoproject) through net/http with a cookie
// jar (issue 3, point 8): admin login through CSRF, a JSON view, static files.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var csrfRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

func TestDjango(t *testing.T) {
	projDir := filepath.Join(pythonDir, "djangoproject")
	data := t.TempDir()
	db := filepath.Join(data, "db.sqlite3")
	static := filepath.Join(data, "static")
	env := []string{"GOHOST_DJANGO_DB=" + db, "GOHOST_DJANGO_STATIC_ROOT=" + static}

	setup := exec.Command("bash", filepath.Join(projDir, "setup_demo.sh"), "-v0")
	setup.Env = append(baseEnv(false), env...)
	setup.Env = append(setup.Env, "PYTHON="+pythonExe)
	out, err := setup.CombinedOutput()
	require.NoError(t, err, "setup_demo.sh: %s", out)

	s := startServer(t, ServerOpts{
		App:     "djangoproject.wsgi:application",
		NoChdir: true,
		Args:    []string{"--chdir", projDir, "--threads", "4", "--static", "/static=" + static},
		Env:     env,
	})

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(s.URL(path))
		require.NoError(t, err, "GET %s", path)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	t.Run("admin login through CSRF", func(t *testing.T) {
		resp, page := get("/admin/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, resp.Request.URL.Path, "/admin/login/", "anonymous /admin/ redirects to the login page")

		resp, page = get("/admin/login/?next=/admin/")
		require.Equal(t, 200, resp.StatusCode)
		m := csrfRE.FindStringSubmatch(page)
		require.NotNil(t, m, "csrfmiddlewaretoken in the login form")

		// Without the token: 403.
		bad, err := client.PostForm(s.URL("/admin/login/"), url.Values{"username": {"admin"}, "password": {"admin-password-123"}})
		require.NoError(t, err)
		bad.Body.Close()
		assert.Equal(t, 403, bad.StatusCode, "POST without csrfmiddlewaretoken")

		// Wrong password: the form again, with an error.
		resp, err = client.PostForm(s.URL("/admin/login/?next=/admin/"), url.Values{
			"csrfmiddlewaretoken": {m[1]}, "username": {"admin"}, "password": {"wrong"}, "next": {"/admin/"}})
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, string(b), "Please enter the correct username and password")

		m = csrfRE.FindStringSubmatch(string(b))
		require.NotNil(t, m)
		resp, err = client.PostForm(s.URL("/admin/login/?next=/admin/"), url.Values{
			"csrfmiddlewaretoken": {m[1]}, "username": {"admin"}, "password": {"admin-password-123"}, "next": {"/admin/"}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s", b)
		assert.Equal(t, "/admin/", resp.Request.URL.Path, "login redirects to the dashboard")
		assert.Contains(t, string(b), "Site administration")
		assert.Contains(t, string(b), "Notes")
		u, _ := url.Parse(s.URL("/"))
		var names []string
		for _, c := range jar.Cookies(u) {
			names = append(names, c.Name)
		}
		assert.Contains(t, names, "sessionid")

		// The change list works with the session.
		resp, page = get("/admin/notes/note/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, page, "Hello")
	})

	t.Run("JSON view", func(t *testing.T) {
		resp, body := get("/api/notes/")
		require.Equal(t, 200, resp.StatusCode, body)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var v struct {
			Count int
			Notes []struct{ Title, Body string }
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		assert.Equal(t, 4, v.Count)
		require.Len(t, v.Notes, 4)
		assert.Equal(t, "Grüße, ça va? 日本語もOK ✓", v.Notes[3].Body)
		resp, _ = get("/api/notes/999999/")
		assert.Equal(t, 404, resp.StatusCode)
	})

	t.Run("index page", func(t *testing.T) {
		resp, page := get("/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, page, "Static files")
	})

	t.Run("static files", func(t *testing.T) {
		for _, rel := range []string{"notes/style.css", "admin/css/base.css", "admin/js/core.js"} {
			want, err := os.ReadFile(filepath.Join(static, rel))
			require.NoError(t, err, "collectstatic output %s", rel)
			resp, body := get("/static/" + rel)
			assert.Equal(t, 200, resp.StatusCode, rel)
			assert.Equal(t, string(want), body, rel)
			ct := resp.Header.Get("Content-Type")
			if strings.HasSuffix(rel, ".css") {
				assert.True(t, strings.HasPrefix(ct, "text/css"), "%s Content-Type %q", rel, ct)
			} else {
				assert.Contains(t, ct, "javascript", "%s Content-Type %q", rel, ct)
			}
		}
		resp, _ := get("/static/notes/missing.css")
		assert.Equal(t, 404, resp.StatusCode)
		resp, _ = get("/static/../djangoproject/settings.py")
		assert.NotEqual(t, 200, resp.StatusCode)
		// Raw traversal attempt (net/http would clean the path).
		c := s.Dial(t)
		c.Send("GET /static/../../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		r := c.MustRead("GET")
		assert.NotContains(t, string(r.Body), "root:", "path traversal out of the static root")
		c = s.Dial(t)
		c.Send("GET /static/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		r = c.MustRead("GET")
		assert.NotContains(t, string(r.Body), "root:", "encoded path traversal out of the static root")
	})
}
