package master

import "time"

// backoff spaces out respawns after failures: min, 2×min, … up to max. A
// failure of a worker that had been up for at least reset starts over at min:
// the crash loop, if there was one, had ended.
type backoff struct {
	min, max, reset time.Duration
	cur             time.Duration // last delay handed out; 0: none yet
}

// next returns the delay before the next spawn after a worker that lived
// uptime failed.
func (b *backoff) next(uptime time.Duration) time.Duration {
	if uptime >= b.reset || b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}
