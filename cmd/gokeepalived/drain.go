package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// directorDrain is the director's drain, beyond keepalived: while set,
// every VRRP instance runs at priority 1, those a reload or a restart of
// the VRRP loop brings too, so that the peers hold the addresses; and
// every bgp_announce is announced with GRACEFUL_SHUTDOWN for the drain's
// timeout (bgpd.Drain by default), then withdrawn.
type directorDrain struct {
	since time.Time // zero: not drained
}

// command carries out a command of the control socket.
func (d *daemon) command(c control.Command) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch c.Op {
	case control.OpDrainRealServer, control.OpUndrainRealServer:
		cl := d.checkerLoop()
		if cl == nil {
			return errors.New("no health checker runs")
		}
		if c.Op == control.OpDrainRealServer {
			return cl.Drain(ctx, c.VirtualServer, c.RealServer, c.Timeout)
		}
		return cl.Undrain(ctx, c.VirtualServer, c.RealServer)
	case control.OpDrainDirector, control.OpUndrainDirector:
		drained := c.Op == control.OpDrainDirector
		d.mu.Lock()
		switch {
		case drained && d.drain.since.IsZero():
			d.drain.since = time.Now()
		case !drained:
			d.drain.since = time.Time{}
		}
		d.mu.Unlock()
		if drained {
			d.log.Info("Draining the director: every VRRP instance at priority 1")
		} else {
			d.log.Info("Undraining the director")
		}
		if v := d.vrrpLoop(); v != nil {
			v.SetDrained(drained)
		}
		if b := d.bgpLoop(); b != nil {
			b.SetDrained(drained, c.Timeout)
		}
		return nil
	}
	return fmt.Errorf("unknown command %v", c.Op)
}

// drains lists the drains in force for the status.
func (d *daemon) drains() []control.Drain {
	var out []control.Drain
	d.mu.Lock()
	since := d.drain.since
	d.mu.Unlock()
	if !since.IsZero() {
		out = append(out, control.Drain{Since: since})
	}
	if cl := d.checkerLoop(); cl != nil {
		for _, ds := range cl.Drains() {
			out = append(out, drainOf(ds))
		}
	}
	return out
}

func drainOf(ds lvs.DrainStatus) control.Drain {
	return control.Drain{VirtualServer: ds.VirtualServer, RealServer: ds.RealServer, Since: ds.Since,
		Deadline: ds.Deadline, Removed: ds.Removed}
}

// runDrain is `gokeepalived drain` and `gokeepalived undrain`: "real-server
// VS RS [--timeout D]" or "director".
func runDrain(undrain bool, args []string, stdout, stderr io.Writer) int {
	name := "drain"
	if undrain {
		name = "undrain"
	}
	opts := []option{{0, "control-socket", requiredArg}}
	if !undrain {
		opts = append(opts, option{0, "timeout", requiredArg})
	}
	parsed, rest, err := getopt(opts, args)
	path := control.DefaultSocket
	var c control.Command
	for _, p := range parsed {
		switch p.opt.long {
		case "control-socket":
			path = p.value
		case "timeout":
			if c.Timeout, err = time.ParseDuration(p.value); err == nil && c.Timeout <= 0 {
				err = fmt.Errorf("bad timeout %q", p.value)
			}
		}
	}
	if err == nil {
		switch {
		case len(rest) == 3 && rest[0] == "real-server":
			c.Op, c.VirtualServer, c.RealServer = control.OpDrainRealServer, rest[1], rest[2]
			if undrain {
				c.Op = control.OpUndrainRealServer
			}
		case len(rest) == 1 && rest[0] == "director":
			c.Op = control.OpDrainDirector
			if undrain {
				c.Op = control.OpUndrainDirector
			}
		default:
			err = errors.New("usage: real-server VS_ADDR:PORT[/PROTO] RS_ADDR:PORT, or director")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived %s: %v\n", name, err)
		return exitProgramError
	}
	if err := control.Do(path, c); err != nil {
		fmt.Fprintf(stderr, "gokeepalived %s: %v\n", name, err)
		return exitProgramError
	}
	return exitOK
}
