// Package notify tells the outside world about VRRP and checker events the
// way keepalived 2.2.7 does: it runs the notify scripts (notify_master,
// notify_backup, notify_fault, notify_stop, notify_deleted, notify,
// notify_master_rx_lower_pri, notify_up, notify_down, quorum_up,
// quorum_down) with keepalived's argument vectors, writes keepalived's
// lines to the notify FIFOs (notify_fifo, vrrp_notify_fifo,
// lvs_notify_fifo), and applies keepalived's script security
// (script_user, enable_script_security).
//
// Scripts are executed directly, never through a shell: the configured
// command is split into words with keepalived's quoting rules (SplitWords).
// A Runner runs them in the background, one source at a time in order,
// each in its own process group so that a timeout kills its children too.
// A Notifier ties scripts and FIFOs to the events that the VRRP engine and
// the checkers report, in plain values, so that neither imports the other.
package notify
