// Package ipvs keeps the kernel's IP Virtual Server table equal to the
// table the configuration and the live health of real servers call for.
//
// It speaks the Linux IPVS generic netlink family (the interface ipvsadm
// and keepalived use; there is no RFC) on a socket of its own: every
// request is built by one attribute encoder and every reply read by one
// decoder, both in codec.go. A Reconciler reads the kernel's
// table back, computes the smallest set of changes that turns it into the
// desired table and applies them, touching only the services and
// destinations it created itself, so entries made by hand or by another
// program survive every pass and the shutdown. ReconcileServices does the
// same for the services a caller names, reading back only those, so that a
// health event or a reload touching a few virtual servers costs the same
// however large the table is.
package ipvs
