package tlsconf

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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writePair writes a self-signed certificate with the given serial and its
// key to dir/cert.pem and dir/key.pem.
func writePair(t *testing.T, dir string, serial int64) (certFile, keyFile string) {
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

// serve accepts TLS connections with cfg and echoes what they send.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// dial connects and returns the connection and the serial of the server's
// certificate.
func dial(t *testing.T, addr string) (*tls.Conn, int64) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	st := c.ConnectionState()
	assert.Equal(t, "h2", st.NegotiatedProtocol)
	assert.GreaterOrEqual(t, st.Version, uint16(tls.VersionTLS12))
	return c, st.PeerCertificates[0].SerialNumber.Int64()
}

func echo(t *testing.T, c *tls.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	b := make([]byte, 4)
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(b))
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, 1)
	r, err := Load(certFile, keyFile)
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Certificate().Leaf.SerialNumber.Int64())
	assert.WithinDuration(t, time.Now().Add(time.Hour), r.Expiry(), time.Minute)
	addr := serve(t, r.Config())

	old, serial := dial(t, addr)
	assert.Equal(t, int64(1), serial)
	echo(t, old)

	// A new pair: new connections get it, the old one keeps working.
	writePair(t, dir, 2)
	require.NoError(t, r.Reload())
	c, serial := dial(t, addr)
	assert.Equal(t, int64(2), serial)
	echo(t, c)
	echo(t, old)

	// A broken pair (key of another certificate; then garbage): the error
	// is returned and the current certificate stays.
	other := t.TempDir()
	_, otherKey := writePair(t, other, 3)
	kb, err := os.ReadFile(otherKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, kb, 0o600))
	assert.Error(t, r.Reload())
	_, serial = dial(t, addr)
	assert.Equal(t, int64(2), serial)

	require.NoError(t, os.WriteFile(certFile, []byte("not a certificate"), 0o600))
	assert.Error(t, r.Reload())
	_, serial = dial(t, addr)
	assert.Equal(t, int64(2), serial)
	echo(t, old)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, 7)

	_, err := Load(filepath.Join(dir, "missing.pem"), keyFile)
	assert.Error(t, err)
	_, err = Load("", "")
	assert.Error(t, err)

	// Certificate and key in one file.
	cb, _ := os.ReadFile(certFile)
	kb, _ := os.ReadFile(keyFile)
	both := filepath.Join(dir, "both.pem")
	require.NoError(t, os.WriteFile(both, append(cb, kb...), 0o600))
	r, err := Load(both, "")
	require.NoError(t, err)
	assert.Equal(t, int64(7), r.Certificate().Leaf.SerialNumber.Int64())

	cfg := r.Config()
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	assert.Equal(t, []string{"h2", "http/1.1"}, cfg.NextProtos)
	assert.Nil(t, cfg.CipherSuites, "Go's defaults")

	// TLS 1.1 is refused.
	addr := serve(t, cfg)
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
	}
	assert.Error(t, err)
}
