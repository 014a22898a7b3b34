package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/gohost/gohost/host/tlsconf"
)

// writeCertFiles writes a self-signed certificate with the given serial and
// its key as PEM files in dir.
func writeCertFiles(t *testing.T, dir string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

// TestConfigTLS serves Config.TLS from a tlsconf.Reloader: HTTP/1.1 and
// HTTP/2 on one listener, Request.TLS, and a certificate reload that new
// connections see while established ones go on.
func TestConfigTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCertFiles(t, dir, 1)
	rl, err := tlsconf.Load(certFile, keyFile)
	require.NoError(t, err)

	var isTLS atomic.Bool
	l := listen(t, "tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	serveReal(t, Config{TLS: rl.Config(), H2: true}, func(w *ResponseWriter, r *Request) {
		isTLS.Store(r.TLS)
		w.Start("200 OK", nil)
		w.Write([]byte(r.Proto))
	}, l)

	// serial returns the serial of the certificate a new connection gets.
	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	get := func(c *http.Client) string {
		t.Helper()
		res, err := c.Get("https://" + addr + "/")
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return string(b)
	}
	h1tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	h2tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer h1tr.CloseIdleConnections()
	defer h2tr.CloseIdleConnections()
	h1 := &http.Client{Transport: h1tr, Timeout: 5 * time.Second}
	h2 := &http.Client{Transport: h2tr, Timeout: 5 * time.Second}

	assert.Equal(t, "HTTP/1.1", get(h1))
	assert.True(t, isTLS.Load())
	isTLS.Store(false)
	assert.Equal(t, "HTTP/2.0", get(h2))
	assert.True(t, isTLS.Load())
	assert.Equal(t, int64(1), serial())

	writeCertFiles(t, dir, 2)
	require.NoError(t, rl.Reload())
	assert.Equal(t, int64(2), serial())
	// The established connections (kept alive by the transports) go on.
	assert.Equal(t, "HTTP/1.1", get(h1))
	assert.Equal(t, "HTTP/2.0", get(h2))

	require.NoError(t, os.WriteFile(certFile, []byte("garbage"), 0o600))
	assert.Error(t, rl.Reload())
	assert.Equal(t, int64(2), serial(), "a bad certificate keeps the current one")
}

func TestTLSHandshakeTimeout(t *testing.T) {
	var calls atomic.Int32
	l := listen(t, "tcp", "127.0.0.1:0")
	serveReal(t, Config{ReadHeaderTimeout: 200 * time.Millisecond, H2: true,
		TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}}, func(w *ResponseWriter, r *Request) {
		calls.Add(1)
		okHandler(w, r)
	}, l)

	// Silent client: closed after ReadHeaderTimeout.
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	assert.NoError(t, err, "closed, not timed out on our side")
	assert.Less(t, time.Since(start), 2*time.Second)

	// Plain HTTP to the TLS port: no handler call.
	c2, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(3 * time.Second))
	c2.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	io.ReadAll(c2)
	assert.Zero(t, calls.Load())
}

func TestTLSConfigALPN(t *testing.T) {
	orig := &tls.Config{NextProtos: []string{"acme-tls/1", "h2", "http/1.1"}}
	assert.Equal(t, []string{"h2", "http/1.1", "acme-tls/1"}, tlsConfig(orig, true).NextProtos)
	assert.Equal(t, []string{"http/1.1", "acme-tls/1"}, tlsConfig(orig, false).NextProtos)
	assert.Equal(t, []string{"acme-tls/1", "h2", "http/1.1"}, orig.NextProtos, "the original is not changed")
	assert.Equal(t, []string{"h2", "http/1.1"}, tlsConfig(&tls.Config{}, true).NextProtos)
}
