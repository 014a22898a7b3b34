package pybridge

import (
	"encoding/binary"

	"github.com/gohost/gohost/environ"
)

// packVars lays the environ entries out as bridge.c's build_environ reads
// them: u32 count, then per entry u16 key length, key, u32 value length,
// value (native byte order: the buffer never leaves the process).
func packVars(dst []byte, vars []environ.Var) []byte {
	dst = binary.NativeEndian.AppendUint32(dst, uint32(len(vars)))
	for _, v := range vars {
		dst = binary.NativeEndian.AppendUint16(dst, uint16(len(v.Key)))
		dst = append(dst, v.Key...)
		dst = binary.NativeEndian.AppendUint32(dst, uint32(len(v.Value)))
		dst = append(dst, v.Value...)
	}
	return dst
}
