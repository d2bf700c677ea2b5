package vrrp

// MasterReason is why an instance last became master, as keepalived
// records it for RFC 6527's vrrpv3StatisticsNewMasterReason.
type MasterReason uint8

// Reasons, numbered as RFC 6527 numbers them.
const (
	ReasonNotMaster        MasterReason = iota // never master
	ReasonPriority                             // the master stopped: an advert of priority 0
	ReasonPreempted                            // preempted a lower priority, or the address owner
	ReasonMasterNoResponse                     // the master's adverts stopped
)

// AuthFailure is why a VRRPv2 advert failed authentication, numbered as
// RFC 2787's vrrpTrapAuthErrorType numbers it; EventAuthFailure carries
// it.
type AuthFailure uint8

// Authentication failures.
const (
	AuthInvalidType  AuthFailure = iota + 1 // an authentication type no router knows
	AuthTypeMismatch                        // not the instance's type
	AuthFailed                              // the wrong password or AH digest
)

// ProtoError is the last protocol error an instance found in an advert,
// numbered as RFC 6527's vrrpv3StatisticsProtoErrReason numbers it;
// EventProtoError carries it.
type ProtoError uint8

// Protocol errors.
const (
	ProtoNoError  ProtoError = iota // none yet
	ProtoTTL                        // a TTL or hop limit not 255, or out of a peer's range
	ProtoVersion                    // not the instance's VRRP version
	ProtoChecksum                   // a bad checksum
)
