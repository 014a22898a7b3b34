// Command fakeworker is a gohost worker without Python, for the master's
// tests: it speaks the worker protocol through master.WorkerFromEnv and
// serves HTTP with net/http on the inherited listeners.
//
// Environment:
//
//	GOHOST_FAKE_BOOT=fail3|fail4|crash   exit 3, exit 4 or exit 1 while booting
//	GOHOST_FAKE_BOOT_FILE=path           read at boot: "fail4" exits 4 (the "app"'s syntax
//	                                     error); the file is reported with "watch"
//	GOHOST_FAKE_BOOT_MS=n                "import" time before ready
//
// Handlers: / → "pid <pid>"; /slow?ms=N; /alloc?mb=N (grows RSS and keeps it);
// /crash (exit 1); /exit?code=N; /hang (blocks forever; ?hb=0 also stops the
// heartbeats, like a wedged process).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gohost/gohost/host/master"
)

var (
	served   atomic.Uint64
	busy     atomic.Int64
	hbStop   = make(chan struct{})
	hbOnce   sync.Once
	hoard    [][]byte
	hoardMu  sync.Mutex
	ctl      *master.Control
	recycled atomic.Bool
	serving  sync.WaitGroup // the Serve loops
)

func main() {
	id, lns, c, ok, err := master.WorkerFromEnv()
	if !ok {
		fmt.Fprintln(os.Stderr, "fakeworker: not started by a gohost master")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeworker:", err)
		os.Exit(master.ExitWorkerBootError)
	}
	ctl = c
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT, syscall.SIGUSR1)

	switch os.Getenv("GOHOST_FAKE_BOOT") {
	case "fail3":
		os.Exit(master.ExitWorkerBootError)
	case "fail4":
		fmt.Fprintln(os.Stderr, "fakeworker: SyntaxError: invalid syntax (app.py, line 1)")
		os.Exit(master.ExitAppLoadError)
	case "crash":
		os.Exit(1)
	}
	if path := os.Getenv("GOHOST_FAKE_BOOT_FILE"); path != "" {
		ctl.Watch(path)
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakeworker:", err)
			os.Exit(master.ExitAppLoadError)
		}
		if strings.TrimSpace(string(data)) == "fail4" {
			fmt.Fprintln(os.Stderr, "fakeworker: SyntaxError in", path)
			os.Exit(master.ExitAppLoadError)
		}
	}
	if ms, _ := strconv.Atoi(os.Getenv("GOHOST_FAKE_BOOT_MS")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}

	srv := &http.Server{Handler: http.HandlerFunc(handle), ReadHeaderTimeout: 10 * time.Second,
		ConnState: trackConn}
	for _, ln := range lns {
		serving.Add(1)
		go func(ln net.Listener) {
			defer serving.Done()
			err := srv.Serve(ln)
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				fmt.Fprintln(os.Stderr, "fakeworker: serve:", err)
				os.Exit(1)
			}
		}(ln)
	}
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-hbStop; cancel() }()
		ctl.RunHeartbeat(ctx, time.Second, func() (uint64, int) { return served.Load(), int(busy.Load()) })
	}()
	if err := ctl.Ready(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeworker: ready:", err)
		os.Exit(master.ExitWorkerBootError)
	}

	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGTERM:
				gracefulStop(srv, lns) // the master bounds it with SIGKILL
				ctl.Exiting("graceful stop")
				os.Exit(0)
			case syscall.SIGQUIT, syscall.SIGINT:
				srv.Close()
				ctl.Exiting("fast stop")
				os.Exit(0)
			case syscall.SIGUSR1:
				fmt.Fprintf(os.Stderr, "fakeworker %d: reopening logs\n", id)
			}
		case <-ctl.MasterGone():
			gracefulStop(srv, lns)
			os.Exit(0)
		}
	}
}

// open counts connections that are new (accepted, request not read yet) or
// active: the ones a graceful stop must not cut.
var open atomic.Int64

func trackConn(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		open.Add(1)
	case http.StateIdle, http.StateHijacked:
		open.Add(-1)
	case http.StateActive:
		// New → Active keeps the count; Idle → Active takes it back.
		if wasIdle(c) {
			open.Add(1)
		}
	case http.StateClosed:
		if !wasIdle(c) {
			open.Add(-1)
		}
	}
	if s == http.StateIdle {
		idleMu.Lock()
		idle[c] = true
		idleMu.Unlock()
	}
}

var (
	idleMu sync.Mutex
	idle   = map[net.Conn]bool{}
)

// wasIdle reports whether c was idle and forgets that.
func wasIdle(c net.Conn) bool {
	idleMu.Lock()
	defer idleMu.Unlock()
	was := idle[c]
	delete(idle, c)
	return was
}

// gracefulStop is what a gohost worker does on TERM: stop accepting, let
// every accepted connection's request finish (net/http's Shutdown would
// drop a request read after it began), then close the idle keep-alive
// connections.
func gracefulStop(srv *http.Server, lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
	// Serve returns after its last Accept; a connection it accepted is
	// tracked (StateNew) by then.
	serving.Wait()
	srv.SetKeepAlivesEnabled(false) // responses in flight say Connection: close
	for open.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close()
}

func handle(w http.ResponseWriter, r *http.Request) {
	busy.Add(1)
	defer busy.Add(-1)
	n := served.Add(1)
	if max := ctl.MaxRequests(); max > 0 && n >= uint64(max) && !recycled.Swap(true) {
		ctl.Recycle("max-requests " + strconv.Itoa(max))
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/slow":
		ms, _ := strconv.Atoi(q.Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case "/alloc":
		mb, _ := strconv.Atoi(q.Get("mb"))
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoardMu.Lock()
		hoard = append(hoard, b)
		hoardMu.Unlock()
	case "/crash":
		os.Exit(1)
	case "/exit":
		code, _ := strconv.Atoi(q.Get("code"))
		os.Exit(code)
	case "/hang":
		if q.Get("hb") == "0" {
			hbOnce.Do(func() { close(hbStop) })
		}
		select {}
	}
	fmt.Fprintf(w, "pid %d\n", os.Getpid())
}
