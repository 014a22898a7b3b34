package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// writeTestCert makes a self-signed certificate for 127.0.0.1 and returns
// the PEM files and a pool that trusts it.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gohost e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func environOver(t *testing.T, c *http.Client, url string) (map[string]any, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(body))
	var env struct {
		Vars map[string]any `json:"vars"`
	}
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	return env.Vars, resp
}

// HTTPS with HTTP/2 (ALPN) and HTTP/1.1 on the same listener, both through
// the Python app: the environ tells the app which it got.
func TestTLSAndHTTP2ThroughTheApp(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	s := startServer(t, ServerOpts{Args: []string{"--certfile", certFile, "--keyfile", keyFile}})
	url := "https://" + s.Addr + "/environ"

	h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	env, resp := environOver(t, h2, url)
	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Equal(t, "HTTP/2.0", env["SERVER_PROTOCOL"])
	assert.Equal(t, "https", env["wsgi.url_scheme"])

	h1 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
	}}
	env, resp = environOver(t, h1, url)
	assert.Equal(t, 1, resp.ProtoMajor)
	assert.Equal(t, "HTTP/1.1", env["SERVER_PROTOCOL"])
	assert.Equal(t, "https", env["wsgi.url_scheme"])

	// Plain HTTP to the TLS port never reaches the app.
	c := s.Dial(t)
	c.Send("GET /environ HTTP/1.1\r\nHost: a\r\n\r\n")
	_, err := c.ReadTimeout("GET", 3*time.Second)
	assert.Error(t, err)
}

// Cleartext HTTP/2 with prior knowledge (--h2c) goes through the app too.
func TestH2CPriorKnowledge(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--h2c"}})
	h2c := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	env, resp := environOver(t, h2c, "http://"+s.Addr+"/environ")
	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Equal(t, "HTTP/2.0", env["SERVER_PROTOCOL"])
	assert.Equal(t, "http", env["wsgi.url_scheme"])
	// HTTP/1.1 still works on the same port.
	env, resp = environOver(t, &http.Client{Timeout: 10 * time.Second}, "http://"+s.Addr+"/environ")
	assert.Equal(t, 1, resp.ProtoMajor)
	assert.Equal(t, "HTTP/1.1", env["SERVER_PROTOCOL"])
}

// A bad certificate is one clear line before anything listens.
func TestTLSBadCertificate(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	r := runGohost(t, 10*time.Second, "", nil, "-b", "127.0.0.1:0", "--certfile", bad, "--keyfile", bad, "--chdir", testAppsDir, "echo")
	assert.NotEqual(t, 0, r.Code)
	assert.Contains(t, r.Stderr, "gohost:")
}
