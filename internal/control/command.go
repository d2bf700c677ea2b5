package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// An Op is what a command asks of the daemon.
type Op int

// The commands the control socket takes besides "status".
const (
	// OpDrainRealServer sets a real server's weight to 0 in IPVS and
	// removes it once its active connections are gone or its timeout
	// has passed.
	OpDrainRealServer Op = iota + 1
	// OpUndrainRealServer puts a drained real server back at the weight
	// its configuration and health give it.
	OpUndrainRealServer
	// OpDrainDirector lowers every VRRP instance to priority 1, so that a
	// peer takes over, and announces every bgp_announce with
	// GRACEFUL_SHUTDOWN for the timeout before it withdraws it.
	OpDrainDirector
	// OpUndrainDirector gives the VRRP instances their priority back.
	OpUndrainDirector
)

var opWords = map[Op][2]string{
	OpDrainRealServer:   {"drain", "real-server"},
	OpUndrainRealServer: {"undrain", "real-server"},
	OpDrainDirector:     {"drain", "director"},
	OpUndrainDirector:   {"undrain", "director"},
}

func (o Op) String() string {
	if w, ok := opWords[o]; ok {
		return w[0] + " " + w[1]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// A Command is one request that changes the daemon.
type Command struct {
	Op Op
	// VirtualServer and RealServer name the real server of the real
	// server commands, as the operator wrote them.
	VirtualServer, RealServer string
	// Timeout bounds a real server's drain: it leaves the table then,
	// whatever its connections; zero waits for them without limit. For
	// the director, it is how long the BGP announcements carry
	// GRACEFUL_SHUTDOWN before they are withdrawn; zero is a second.
	Timeout time.Duration
}

// String is the command's request line, without its newline.
func (c Command) String() string {
	words := []string{c.Op.String()}
	if c.Op == OpDrainRealServer || c.Op == OpUndrainRealServer {
		words = append(words, c.VirtualServer, c.RealServer)
	}
	if c.Timeout > 0 && (c.Op == OpDrainRealServer || c.Op == OpDrainDirector) {
		words = append(words, c.Timeout.String())
	}
	return strings.Join(words, " ")
}

// ParseCommand parses a command's request line: "drain real-server VS RS
// [TIMEOUT]", "undrain real-server VS RS", "drain director [TIMEOUT]" or
// "undrain director", the words separated by blanks.
func ParseCommand(line string) (Command, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return Command{}, fmt.Errorf("unknown request %s", strings.ToValidUTF8(line, "\uFFFD"))
	}
	var c Command
	for op, w := range opWords {
		if f[0] == w[0] && f[1] == w[1] {
			c.Op = op
		}
	}
	args := f[2:]
	var min, max int
	switch c.Op {
	case OpDrainRealServer:
		min, max = 2, 3
	case OpUndrainRealServer:
		min, max = 2, 2
	case OpDrainDirector:
		min, max = 0, 1
	case OpUndrainDirector:
		min, max = 0, 0
	default:
		return Command{}, fmt.Errorf("unknown request %s", strings.ToValidUTF8(line, "\uFFFD"))
	}
	if len(args) < min || len(args) > max {
		return Command{}, fmt.Errorf("%s: %d arguments, want %d to %d", c.Op, len(args), min, max)
	}
	if c.Op == OpDrainRealServer || c.Op == OpUndrainRealServer {
		c.VirtualServer, c.RealServer = args[0], args[1]
		args = args[2:]
	}
	if len(args) == 1 {
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return Command{}, fmt.Errorf("%s: bad timeout %q", c.Op, strings.ToValidUTF8(args[0], "\uFFFD"))
		}
		c.Timeout = d
	}
	return c, nil
}

// errNoCommands answers a command when the server takes none.
var errNoCommands = errors.New("this daemon takes no commands")

// commandAnswer is the answer to a command: {"ok":true} or an error.
func commandAnswer(line string, run func(Command) error) map[string]any {
	c, err := ParseCommand(line)
	if err == nil {
		if run == nil {
			err = errNoCommands
		} else {
			err = run(c)
		}
	}
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	return map[string]any{"ok": true}
}

// Do sends command c to the daemon listening at path and returns its
// error, if it refused it.
func Do(path string, c Command) error {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connecting to the daemon at %s: %w", path, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, c.String()+"\n"); err != nil {
		return fmt.Errorf("sending %q to the daemon at %s: %w", c, path, err)
	}
	var a struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(conn).Decode(&a); err != nil {
		return fmt.Errorf("reading the daemon's answer from %s: %w", path, err)
	}
	if !a.OK {
		return fmt.Errorf("%s: %s", c.Op, a.Error)
	}
	return nil
}
