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
