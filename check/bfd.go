package check

import (
	"context"
	"fmt"
	"time"
)

// BFDPollInterval is how often a BFDCheck reads its session's state:
// keepalived's BFD_CHECK hears of each change at once, with no retry;
// reading a state the daemon holds in memory this often follows it
// within that time, at no cost.
const BFDPollInterval = 50 * time.Millisecond

// BFDCheck is keepalived's BFD_CHECK: the real server's checker is up
// while the BFD session of bfd_instance Name is Up, and down otherwise.
// Up reports the session's state as the daemon's BFD loop last told it;
// a session it has not heard of is down, as keepalived's BFD process
// tells the checkers every session is Down when it starts.
type BFDCheck struct {
	Name string
	Up   func(name string) bool
}

// Check fails while the session is not Up.
func (c *BFDCheck) Check(context.Context) error {
	if c.Up == nil || !c.Up(c.Name) {
		return fmt.Errorf("BFD %s is down", c.Name)
	}
	return nil
}

// stateMessage words a change as keepalived's BFD checker logs it.
func (c *BFDCheck) stateMessage(server string, up bool) string {
	state := "DOWN"
	if up {
		state = "UP"
	}
	return fmt.Sprintf("BFD check of [%s] RS(%s) is %s", c.Name, server, state)
}
