package ipvs

import (
	"encoding/binary"
	"hash/fnv"
)

// OrderFingerprint hashes the destinations of one or more services as the
// kernel lists them: each one's address, port and whether its weight is
// above zero, in order. The mh scheduler builds its lookup table from
// exactly that, so directors whose kernels give the same fingerprint for a
// service send each client to the same real server; a weight change that
// keeps a destination in or out of service changes nothing. The value is
// 32 bits (FNV-1a), exact in a float64 metric.
func OrderFingerprint(services ...[]Destination) uint32 {
	h := fnv.New32a()
	var b [16 + 2 + 1]byte
	for _, ds := range services {
		for _, d := range ds {
			a := d.Addr.Addr().As16()
			copy(b[:16], a[:])
			binary.BigEndian.PutUint16(b[16:], d.Addr.Port())
			b[18] = 0
			if d.Weight > 0 {
				b[18] = 1
			}
			h.Write(b[:])
		}
		// A service boundary, so that [a b][c] and [a][b c] differ.
		h.Write([]byte{0xff})
	}
	return h.Sum32()
}
