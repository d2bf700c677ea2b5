package vrrp

import "fmt"

// A DropReason says why a received advertisement was discarded. The
// reasons are those of RFC 3768 section 7.1 and RFC 5798 section 7.1, as
// keepalived counts them.
type DropReason int

// Drop reasons.
const (
	DropTTL       DropReason = iota + 1 // TTL or hop limit not 255
	DropVersion                         // not the instance's VRRP version
	DropType                            // not an advertisement
	DropVRID                            // no instance on the interface has the VRID
	DropLength                          // length does not match the address count
	DropChecksum                        // bad checksum
	DropAuth                            // authentication type or password mismatch
	DropInterval                        // advertisement interval differs (version 2)
	DropAddresses                       // virtual address list differs
	DropSource                          // not from a unicast peer (check_unicast_src)
	numDropReasons
)

// String returns a short lower-case name fit for a metric label.
func (r DropReason) String() string {
	switch r {
	case DropTTL:
		return "ttl"
	case DropVersion:
		return "version"
	case DropType:
		return "type"
	case DropVRID:
		return "vrid"
	case DropLength:
		return "length"
	case DropChecksum:
		return "checksum"
	case DropAuth:
		return "auth"
	case DropInterval:
		return "interval"
	case DropAddresses:
		return "addresses"
	case DropSource:
		return "source"
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// DropReasons returns every reason, in order, for callers that export the
// counters.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropTTL; r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// A DropError reports an advertisement that must be discarded.
type DropError struct {
	Reason DropReason
	// Msg is worded as keepalived logs the same condition.
	Msg string
}

func (e *DropError) Error() string { return e.Msg }

func dropf(r DropReason, format string, args ...any) *DropError {
	return &DropError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}
