// Command ceiling is the pure-Go front-end ceiling for the gohost benchmark:
// a plain net/http server that answers the same bytes as the Python apps in
// bench/apps without running any Python. Whatever a WSGI server does on top
// of parsing and writing HTTP shows up as the gap to this server.
//
//	ceiling -addr 127.0.0.1:8080 -mode constant -body hello.bin -type text/plain
//	ceiling -addr 127.0.0.1:8080 -mode upload   # sha256 hex of the request body
//	ceiling -addr 127.0.0.1:8080 -mode stream   # 16 MiB in 64 KiB chunks
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
)

const (
	chunkSize  = 64 << 10
	chunkCount = 256 // 16 MiB
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	mode := flag.String("mode", "constant", "constant | upload | stream")
	bodyFile := flag.String("body", "", "constant mode: file holding the response body")
	ctype := flag.String("type", "text/plain", "constant mode: Content-Type")
	flag.Parse()

	var h http.Handler
	switch *mode {
	case "constant":
		body := []byte("Hello, World!")
		if *bodyFile != "" {
			b, err := os.ReadFile(*bodyFile)
			if err != nil {
				log.Fatal(err)
			}
			body = b
		}
		h = constant(body, *ctype)
	case "upload":
		h = http.HandlerFunc(upload)
	case "stream":
		h = http.HandlerFunc(stream)
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	srv := &http.Server{Addr: *addr, Handler: h}
	log.Fatal(srv.ListenAndServe())
}

func constant(body []byte, ctype string) http.Handler {
	clen := []string{strconv.Itoa(len(body))}
	ct := []string{ctype}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = ct
		hdr["Content-Length"] = clen
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func upload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(h, r.Body, *bp); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := []byte(hex.EncodeToString(h.Sum(nil)))
	w.Header()["Content-Type"] = []string{"text/plain"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.Write(out)
}

// streamChunk matches bench/apps/stream.py: byte i is i % 256.
var streamChunk = func() []byte {
	b := make([]byte, chunkSize)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func stream(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = []string{"application/octet-stream"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(chunkSize * chunkCount)}
	w.WriteHeader(http.StatusOK)
	for i := 0; i < chunkCount; i++ {
		if _, err := w.Write(streamChunk); err != nil {
			return
		}
	}
}
