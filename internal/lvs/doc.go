// Package lvs is the logic of keepalived's checker process: it turns the
// virtual_server blocks of a keepalived.conf and the live health of their
// real servers into the kernel's IP Virtual Server table.
//
// There is no RFC for it; the rules are keepalived 2.2's (ipwrapper.c,
// check_daemon.c, check_data.c and keepalived.conf(5)), to the letter:
// which real servers are in the pool and at which weight (dynamic weights,
// inhibit_on_failure), the quorum and its hysteresis, the sorry server,
// alpha and omega, ha_suspend, the notify_up/notify_down and
// quorum_up/quorum_down scripts, the lines of the LVS notify FIFO and the
// wording of the log.
//
// Three parts build on each other:
//
//   - CheckServer maps a real server's checker blocks to a check.Server, the
//     unit the check.Scheduler runs;
//   - Services is a pure function from a virtual server, its state and the
//     addresses this node owns to the ipvs.Services it calls for;
//   - an LVS ties them together: it owns a scheduler and an IPVS table,
//     consumes the scheduler's events, applies keepalived's state
//     transitions, and keeps the table equal to what the state calls for.
package lvs
