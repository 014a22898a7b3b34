package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/server"
)

// TestH2Environ checks the WSGI environ built from HTTP/2 requests, over TLS
// and h2c: SERVER_PROTOCOL, wsgi.url_scheme, HTTP_HOST, CONTENT_LENGTH.
func TestH2Environ(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}

	ec := environ.NewConfig()
	ec.ForwardedAllowIPs = nil
	require.NoError(t, ec.Prepare())

	for _, useTLS := range []bool{true, false} {
		vars := make(chan map[string]string, 1)
		cfg := server.Config{ErrorLog: slog.New(slog.DiscardHandler), H2: true, H2C: true}
		scheme := "http"
		tr := &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
		if useTLS {
			cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			scheme = "https"
			tr = &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		}
		srv := server.New(cfg, server.HandlerFunc(func(w *server.ResponseWriter, r *server.Request) {
			m := map[string]string{}
			for _, v := range environ.Append(nil, r, ec) {
				m[v.Key] = v.Value
			}
			vars <- m
			w.Start("200 OK", nil)
		}))
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go srv.Serve(l)

		res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Post(
			scheme+"://"+l.Addr().String()+"/p?q=1", "text/plain", strings.NewReader("body"))
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		m := <-vars
		tr.CloseIdleConnections()
		srv.Close()

		assert.Equal(t, "HTTP/2.0", m["SERVER_PROTOCOL"])
		assert.Equal(t, scheme, m["wsgi.url_scheme"])
		assert.Equal(t, l.Addr().String(), m["HTTP_HOST"])
		assert.Equal(t, "4", m["CONTENT_LENGTH"])
		assert.Equal(t, "text/plain", m["CONTENT_TYPE"])
		assert.Equal(t, "POST", m["REQUEST_METHOD"])
		assert.Equal(t, "/p", m["PATH_INFO"])
		assert.Equal(t, "q=1", m["QUERY_STRING"])
		if useTLS {
			assert.Equal(t, "on", m["HTTPS"])
		}
	}
}
