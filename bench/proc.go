package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. Linux
// exports 100 to user space on every architecture it runs on.
const clockTicks = 100

// procStat is what the harness needs from /proc/PID/stat.
type procStat struct {
	PID, PPID int
	Ticks     uint64 // utime + stime, in clockTicks
}

// parseProcStat parses the contents of /proc/PID/stat. The command name is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStat(data string) (procStat, error) {
	var st procStat
	open := strings.IndexByte(data, '(')
	close := strings.LastIndexByte(data, ')')
	if open < 0 || close < open {
		return st, fmt.Errorf("malformed stat %q", data)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(data[:open]))
	if err != nil {
		return st, err
	}
	f := strings.Fields(data[close+1:])
	// f[0]=state(3) f[1]=ppid(4) ... f[11]=utime(14) f[12]=stime(15)
	if len(f) < 13 {
		return st, fmt.Errorf("short stat %q", data)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return st, err
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return st, fmt.Errorf("bad utime/stime in %q", data)
	}
	return procStat{PID: pid, PPID: ppid, Ticks: ut + stime}, nil
}

// allProcs reads /proc/*/stat for every live process.
func allProcs() map[int]procStat {
	out := map[int]procStat{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if st, err := parseProcStat(string(b)); err == nil {
			out[st.PID] = st
		}
	}
	return out
}

// processTree returns root and all its descendants (root first), from a
// snapshot of allProcs.
func processTree(root int, procs map[int]procStat) []procStat {
	children := map[int][]int{}
	for pid, st := range procs {
		children[st.PPID] = append(children[st.PPID], pid)
	}
	rs, ok := procs[root]
	if !ok {
		return nil
	}
	out := []procStat{rs}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, procs[c])
			queue = append(queue, c)
		}
	}
	return out
}

// treeCPUSeconds is the user+system CPU time consumed so far by root's tree.
func treeCPUSeconds(root int) float64 {
	var t uint64
	for _, st := range processTree(root, allProcs()) {
		t += st.Ticks
	}
	return float64(t) / clockTicks
}

// parseVmRSS extracts VmRSS (KiB) from /proc/PID/status contents.
func parseVmRSS(data []byte) (int64, bool) { return parseKiB(data, "VmRSS:") }

// parseKiB extracts the "kB" value of the line starting with key (such as
// "VmRSS:" in /proc/PID/status or "Pss:" in /proc/PID/smaps_rollup).
func parseKiB(data []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		return v, err == nil
	}
	return 0, false
}

func rssKiB(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	return parseVmRSS(b)
}

// pssKiB is the proportional set size: each page shared by n processes
// counts 1/n (a binary's pages shared by a master and its workers, a
// forking master's copy-on-write memory), so the PSS of all processes adds
// up to the memory they use together, which RSS overstates.
func pssKiB(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, false
	}
	return parseKiB(b, "Pss:")
}

// workerPIDs picks the worker processes of a server's tree: every descendant
// of the process the harness started when there are any (a master/arbiter
// forks its workers), otherwise the process itself (waitress, the ceiling).
func workerPIDs(tree []procStat) []int {
	if len(tree) == 0 {
		return nil
	}
	if len(tree) == 1 {
		return []int{tree[0].PID}
	}
	out := make([]int, 0, len(tree)-1)
	for _, st := range tree[1:] {
		out = append(out, st.PID)
	}
	return out
}

// rssSampler samples VmRSS and PSS of every worker of a server every
// interval and keeps the maximum of each seen for any single worker.
type rssSampler struct {
	root     int
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	peak     memPeak
	maxProcs int
}

// memPeak is the largest RSS and PSS of one worker, in KiB.
type memPeak struct{ RSS, PSS int64 }

func startRSSSampler(root int, every time.Duration) *rssSampler {
	s := &rssSampler{root: root, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	ws := workerPIDs(processTree(s.root, allProcs()))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ws) > s.maxProcs {
		s.maxProcs = len(ws)
	}
	for _, pid := range ws {
		if v, ok := rssKiB(pid); ok && v > s.peak.RSS {
			s.peak.RSS = v
		}
		if v, ok := pssKiB(pid); ok && v > s.peak.PSS {
			s.peak.PSS = v
		}
	}
}

// Stop ends sampling and returns the peak RSS and PSS of one worker and the
// largest number of worker processes seen at once.
func (s *rssSampler) Stop() (memPeak, int) {
	close(s.stop)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.maxProcs
}

// waitIdle waits until root's process tree has used less than maxCPU of CPU
// time in each of two consecutive windows, or timeout passes. Servers that
// load the app in each worker after answering the first request (workers
// booting one after another, a lazy import) are still busy when the first
// check succeeds; measuring then would time a half-started server.
func waitIdle(root int, window time.Duration, maxCPU float64, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	quiet := 0
	prev := treeCPUSeconds(root)
	for time.Since(start) < timeout {
		time.Sleep(window)
		cur := treeCPUSeconds(root)
		if cur-prev < maxCPU {
			quiet++
			if quiet >= 2 {
				return time.Since(start), true
			}
		} else {
			quiet = 0
		}
		prev = cur
	}
	return time.Since(start), false
}
