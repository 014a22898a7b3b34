// Package tlsconf loads gohost's TLS certificate (--certfile, --keyfile)
// and serves it through a tls.Config with modern defaults, so that the
// certificate can be replaced at run time (SIGHUP) without a restart.
//
//   - TLS 1.2 minimum; Go's default cipher suites (AEAD and forward secret
//     first; TLS 1.3 suites are not configurable) and key exchanges
//     (X25519MLKEM768 hybrid post-quantum, X25519, P-256, ...), which Go
//     keeps current.
//   - ALPN "h2" then "http/1.1". The server drops "h2" when HTTP/2 is off
//     (server.Config.H2).
//   - The certificate is handed out by GetCertificate: Reload swaps it
//     atomically. Handshakes after Reload get the new one; established
//     connections keep theirs and are not interrupted. A certificate that
//     fails to load (missing file, bad PEM, key that does not match) leaves
//     the current one in place and Reload returns the error.
//
// The certificate file may hold the chain (leaf first, then
// intermediates); the key file an RSA, ECDSA or Ed25519 key in PEM. With an
// empty key file name the key is read from the certificate file.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader holds the current certificate and reloads it from its files.
// Its methods are safe for concurrent use.
type Reloader struct {
	certFile, keyFile string

	cert atomic.Pointer[tls.Certificate] // never nil after Load
	mu   sync.Mutex                      // serializes Reload
}

// Load reads the certificate and key and returns a Reloader serving them.
func Load(certFile, keyFile string) (*Reloader, error) {
	if certFile == "" {
		return nil, errors.New("tlsconf: no certificate file")
	}
	if keyFile == "" {
		keyFile = certFile
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	c, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(c)
	return r, nil
}

// load reads and checks the pair: the key matches the leaf (LoadX509KeyPair)
// and the leaf parses.
func (r *Reloader) load() (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: load %s, %s: %w", r.certFile, r.keyFile, err)
	}
	if c.Leaf == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("tlsconf: %s: %w", r.certFile, err)
		}
		c.Leaf = leaf
	}
	return &c, nil
}

// Reload reads the files again and, if they hold a valid pair, makes it the
// certificate of the handshakes that follow. On error the current
// certificate stays.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.load()
	if err != nil {
		return err
	}
	r.cert.Store(c)
	return nil
}

// Certificate returns the current certificate (its Leaf is set: subject,
// NotAfter, ... for logging).
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// Expiry returns when the current certificate expires.
func (r *Reloader) Expiry() time.Time { return r.cert.Load().Leaf.NotAfter }

// Config returns a new tls.Config that serves the Reloader's current
// certificate (see the package comment for its settings).
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.cert.Load(), nil
		},
	}
}
