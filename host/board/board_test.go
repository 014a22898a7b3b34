package board

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newMaster creates a board as the master does.
func newMaster(t *testing.T, slots int) *Board {
	t.Helper()
	m, err := Create(slots)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// worker opens the master's board the way a worker process does: from its
// own descriptor of the memfd.
func worker(t *testing.T, m *Board, slot int) *Board {
	t.Helper()
	fd, err := unix.Dup(int(m.File().Fd()))
	require.NoError(t, err)
	b, err := Open(fd, slot)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestWorkersSeeEachOthersCounts(t *testing.T) {
	m := newMaster(t, 8)
	a, b := worker(t, m, 0), worker(t, m, 3)

	a.Join(0)
	assert.False(t, a.Prefers(2), "alone: nobody to defer to")
	a.Add(2)
	assert.False(t, a.Prefers(2), "an absent sibling is not waited for")

	b.Join(0)
	assert.Equal(t, 2, a.Count())
	assert.Equal(t, 0, b.Count())
	assert.True(t, a.Prefers(2))
	assert.False(t, b.Prefers(2))
	b.Add(1)
	assert.False(t, a.Prefers(2), "one apart is balanced enough")
	assert.True(t, a.Prefers(1))
}

func TestLeftOrClearedSlotIsNotWaitedFor(t *testing.T) {
	m := newMaster(t, 4)
	a, b := worker(t, m, 0), worker(t, m, 1)
	a.Join(5)
	b.Join(0)
	require.True(t, a.Prefers(2))

	b.Leave() // shutting down: stopped accepting
	assert.False(t, a.Prefers(2))
	b.Add(1) // a connection closing or opening after Leave keeps it absent
	b.Add(-1)
	assert.Equal(t, -1, b.Count())
	assert.False(t, a.Prefers(2))

	b.Join(0)
	require.True(t, a.Prefers(2))
	m.Clear(1) // the master reaped it
	assert.False(t, a.Prefers(2))
}

func TestAWorkerWithRoomIsPreferredToAFullOne(t *testing.T) {
	m := newMaster(t, 4)
	a, b := worker(t, m, 0), worker(t, m, 2)
	a.Join(3)
	b.Join(10)
	assert.False(t, a.Prefers(2))
	assert.True(t, b.Prefers(2))

	a.SetFull(true) // every thread busy: b with room is better, whatever its count
	assert.True(t, a.Prefers(2))
	assert.False(t, b.Prefers(2))
	assert.True(t, a.Full())
	assert.Equal(t, 3, a.Count(), "the flag leaves the count alone")

	b.SetFull(true) // both full: back to counting connections
	assert.False(t, a.Prefers(2))
	assert.True(t, b.Prefers(2))
	b.Add(-7)
	assert.True(t, b.Full(), "the count leaves the flag alone")
	assert.False(t, b.Prefers(2))

	a.Leave()
	a.SetFull(false)
	assert.Equal(t, -1, a.Count(), "a worker that left stays absent")
}

func TestCountNeverGoesBelowZero(t *testing.T) {
	m := newMaster(t, 2)
	a := worker(t, m, 0)
	a.Join(0)
	a.Add(-1)
	assert.Equal(t, 0, a.Count(), "still present")
}

func TestOpenRejectsSlotOutOfRange(t *testing.T) {
	m := newMaster(t, 2)
	fd, err := unix.Dup(int(m.File().Fd()))
	require.NoError(t, err)
	_, err = Open(fd, 2)
	assert.ErrorContains(t, err, "out of range")
}

// Excess compares counts only: a full sibling with fewer connections
// counts, an absent one does not.
func TestExcessComparesCountsWhateverTheFullFlags(t *testing.T) {
	m := newMaster(t, 4)
	a, b := worker(t, m, 0), worker(t, m, 2)
	a.Join(6)
	assert.False(t, a.Excess(4), "alone")
	b.Join(2)
	b.SetFull(true)
	assert.True(t, a.Excess(4), "6 against 2")
	assert.False(t, b.Excess(4))
	a.SetFull(false)
	b.Add(1)
	assert.False(t, a.Excess(4), "6 against 3: within the margin")
	b.Leave()
	b.Add(-3)
	assert.False(t, a.Excess(4), "a sibling that left is not counted")
}
