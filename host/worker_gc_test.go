package host

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWorkerGCPercentUnlessGOGCIsSet(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	setWorkerGC(func(string) string { return "" })
	assert.Equal(t, workerGCPercent, debug.SetGCPercent(100), "no GOGC: the worker's own target")

	setWorkerGC(func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	})
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC set: left to the runtime, which read it at start")
}
