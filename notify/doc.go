// Package notify runs keepalived's notify scripts and writes its notify
// FIFO lines, with keepalived's arguments, wording and script security.
package notify
