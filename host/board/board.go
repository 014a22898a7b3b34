// Package board is the workers' shared scoreboard of kept-alive connections,
// used to balance kept-alive connections across worker processes.
//
// Each worker serves the connections it accepted for as long as they stay
// open, so a burst of connections split 50/14 between two workers stays
// split that way: the clients of the busier worker wait three times longer
// for the life of their connections. The kernel's shared accept queue cannot
// help (it hands a connection to whichever worker asks first), so each worker
// publishes its count here and defers to a sibling that has clearly fewer.
// What a worker counts is its business (gohost counts kept-alive
// connections: server.Config.KeptConns); the board only compares.
//
// Each worker also publishes whether it is full (every Python thread busy and
// requests waiting): a new connection goes to a worker with room before one
// without, and among equals to the one with fewer connections.
//
// The board is a small shared memory file (memfd) created by the master and
// inherited by every worker; one int32 slot per worker, updated with atomic
// operations. A slot holds 0 when no worker uses it, else
// (connections + 1) << 1 | full.
package board

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Board is one process's view of the shared slots.
type Board struct {
	mem   []byte
	slots []atomic.Int32 // aliases mem
	file  *os.File       // the master's handle, passed to workers; nil in a worker
	self  int            // the worker's slot; -1 in the master
}

// Create makes a board of n slots. The master passes File() to each worker
// with the slot it assigned.
func Create(n int) (*Board, error) {
	if n <= 0 {
		return nil, fmt.Errorf("board of %d slots", n)
	}
	fd, err := unix.MemfdCreate("gohost-board", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("board: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "gohost-board")
	if err := f.Truncate(int64(n * 4)); err != nil {
		f.Close()
		return nil, fmt.Errorf("board: %w", err)
	}
	b, err := mapBoard(fd, n, -1)
	if err != nil {
		f.Close()
		return nil, err
	}
	b.file = f
	return b, nil
}

// Open maps the board inherited on fd, as the worker in slot self. The fd
// is closed: the mapping stays valid without it.
func Open(fd int, self int) (*Board, error) {
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("board fd %d: %w", fd, err)
	}
	n := int(st.Size / 4)
	if self < 0 || self >= n {
		return nil, fmt.Errorf("board slot %d out of range (%d slots)", self, n)
	}
	return mapBoard(fd, n, self)
}

func mapBoard(fd, n, self int) (*Board, error) {
	mem, err := unix.Mmap(fd, 0, n*4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("board: mmap: %w", err)
	}
	// The mapping is page-aligned, so each int32 is aligned for atomics.
	slots := unsafe.Slice((*atomic.Int32)(unsafe.Pointer(&mem[0])), n)
	return &Board{mem: mem, slots: slots, self: self}, nil
}

// Len is the number of slots.
func (b *Board) Len() int { return len(b.slots) }

// File is the memfd to pass to workers (master only).
func (b *Board) File() *os.File { return b.file }

// Clear empties slot i: its worker has exited (master only).
func (b *Board) Clear(i int) { b.slots[i].Store(0) }

// Join marks this worker present with open connections and room. Call it
// when the worker starts accepting.
func (b *Board) Join(open int) { b.slots[b.self].Store(int32(open+1) << 1) }

// Leave marks this worker absent: it stopped accepting (shutdown), so its
// siblings must not wait for it.
func (b *Board) Leave() { b.slots[b.self].Store(0) }

// Add changes this worker's count of connections by delta, unless it
// has left.
func (b *Board) Add(delta int) {
	b.update(func(v int32) int32 { return max(v>>1+int32(delta), 1)<<1 | v&1 })
}

// SetFull publishes whether this worker is full, unless it has left.
func (b *Board) SetFull(full bool) {
	bit := int32(0)
	if full {
		bit = 1
	}
	b.update(func(v int32) int32 { return v&^1 | bit })
}

func (b *Board) update(f func(int32) int32) {
	s := &b.slots[b.self]
	for {
		v := s.Load()
		if v <= 0 { // left (or never joined): stay absent
			return
		}
		nv := f(v)
		if nv == v || s.CompareAndSwap(v, nv) {
			return
		}
	}
}

// Count is this worker's published count of connections (-1 when
// absent).
func (b *Board) Count() int { return int(b.slots[b.self].Load()>>1) - 1 }

// Full is this worker's published full flag.
func (b *Board) Full() bool { return b.slots[b.self].Load()&1 == 1 }

// Prefers reports whether the next connection is better served by a
// present sibling: one with room while this worker is full, or one as
// full as this worker with at least margin fewer connections.
func (b *Board) Prefers(margin int) bool {
	mine := b.slots[b.self].Load()
	if mine <= 0 {
		return false
	}
	for i := range b.slots {
		if i == b.self {
			continue
		}
		v := b.slots[i].Load()
		if v <= 0 {
			continue
		}
		if v&1 < mine&1 || v&1 == mine&1 && v>>1+int32(margin) <= mine>>1 {
			return true
		}
	}
	return false
}

// Excess reports whether a present sibling has at least margin fewer
// connections than this worker, whatever either's full flag.
func (b *Board) Excess(margin int) bool {
	mine := b.slots[b.self].Load()
	if mine <= 0 {
		return false
	}
	for i := range b.slots {
		if v := b.slots[i].Load(); i != b.self && v > 0 && v>>1+int32(margin) <= mine>>1 {
			return true
		}
	}
	return false
}

// Close unmaps the board (and closes the master's file).
func (b *Board) Close() error {
	if b.file != nil {
		b.file.Close()
	}
	b.slots = nil
	return unix.Munmap(b.mem)
}
