// Package vrrp implements the Virtual Router Redundancy Protocol as
// keepalived speaks it: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) over IPv4
// and IPv6, multicast or unicast, with keepalived's PASS and AH
// authentication, tracking, sync groups and the FAULT state.
package vrrp
