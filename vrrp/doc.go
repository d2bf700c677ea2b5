// Package vrrp implements the Virtual Router Redundancy Protocol as
// keepalived speaks it: VRRPv2 (RFC 3768, with keepalived's PASS and AH
// authentication from RFC 2338, AH being an IPsec Authentication Header
// of RFC 2402 with HMAC-MD5-96) and VRRPv3 (RFC 5798) over IPv4 and IPv6,
// multicast or unicast.
//
// The package has three layers. Advertisement encodes and decodes the
// protocol's one message. Instance is the state machine of one virtual
// router (INIT, BACKUP, MASTER, FAULT, STOP as keepalived runs them); it
// reaches time and the network only through the Clock and Network
// interfaces, so that it can be driven step by step. A SyncGroup makes
// instances change state together. Router runs instances on a Linux host:
// raw IP protocol 112 sockets shared per interface and demultiplexed by
// VRID (Conn), virtual addresses and routes through rtnetlink
// (AddressSet, RouteSet), gratuitous ARP and unsolicited neighbour
// advertisements (Announcer, one set of sockets per interface shared by
// its instances), and FAULT or priority changes from tracking: carrier
// of interfaces (track_interface, netlink notifications), scripts
// (track_script, run through a ScriptRunner), files (track_file,
// inotify) and processes (track_process, the kernel's process
// connector, or /proc and pidfds where a network namespace has none).
//
// The protocol core (the codec, Instance, SyncGroup, drop reasons and
// the reconfiguration logic) imports nothing Linux-specific: the
// sockets, rtnetlink, VMAC interfaces and the announcer are in the
// _linux.go files beside it, and the configuration types (VIP, Route)
// carry vrrp's own Scope and RouteType, with the rtnetlink values. A
// VIP or route the host refuses is logged, with the instance and the
// object, and the others are applied all the same: the instance goes on.
//
// A running Router is reconfigured in place with Apply, as keepalived
// reloads its configuration: instances that remain keep their state, and
// a master its VIPs, with no transition and no gratuitous ARP for the
// addresses it keeps.
//
// A panic in a goroutine of the package (a packet reader, a timer, the
// link watcher, a tracker) is contained: logged with its stack, counted
// (Router.Panics), and the instance concerned keeps its state, its
// addresses and its timers.
//
// Log messages are worded as keepalived's, so that operators' log
// watchers keep working.
package vrrp
