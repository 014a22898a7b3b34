package main

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Every process the harness starts goes in its own process group and is
// registered here, so that an error, a panic or Ctrl-C still ends all of
// them (killAll) and no server outlives the run.

var (
	liveMu sync.Mutex
	live   = map[*serverProc]struct{}{}
)

// setChildAttrs puts a child in its own process group and asks the kernel
// to kill it if the harness dies without cleaning up.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

type serverProc struct {
	cmd    *exec.Cmd
	pid    int
	exited chan struct{}
	err    error // Wait's result, valid after exited is closed
	once   sync.Once
}

func startProc(cmd *exec.Cmd) (*serverProc, error) {
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	liveMu.Lock()
	live[p] = struct{}{}
	liveMu.Unlock()
	return p, nil
}

func (p *serverProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs
// the group and any descendant that left it.
func (p *serverProc) Stop(grace time.Duration) {
	p.once.Do(func() {
		tree := processTree(p.pid, allProcs())
		_ = syscall.Kill(-p.pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
		}
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		for _, st := range tree {
			if st.PID != p.pid {
				_ = syscall.Kill(st.PID, syscall.SIGKILL)
			}
		}
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		liveMu.Lock()
		delete(live, p)
		liveMu.Unlock()
	})
}

// killAll stops every process still registered (used on errors and signals).
func killAll() {
	liveMu.Lock()
	ps := make([]*serverProc, 0, len(live))
	for p := range live {
		ps = append(ps, p)
	}
	liveMu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func(p *serverProc) { defer wg.Done(); p.Stop(2 * time.Second) }(p)
	}
	wg.Wait()
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls until something accepts TCP connections on port, the
// process exits, or timeout passes.
func waitListening(p *serverProc, port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.hasExited() {
			return fmt.Errorf("server exited before listening: %v", p.err)
		}
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("server did not listen within " + timeout.String())
}
