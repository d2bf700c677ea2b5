// Package control serves the daemon's live status on a Unix socket, so that
// operators can ask a running gokeepalived what it is doing without signals
// and files: `gokeepalived status`.
//
// The protocol is one request line and one JSON document in answer, after
// which the server closes the connection. "status" answers with the
// Status; the drain commands (see ParseCommand) answer {"ok":true} or
// {"error":"..."}.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/netutil"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/gokeepalived.sock"

// Status is a snapshot of the daemon.
type Status struct {
	Version        string          `json:"version"`
	ConfigFile     string          `json:"config_file"`
	Started        time.Time       `json:"started"`
	LastReload     time.Time       `json:"last_reload,omitzero"`
	Instances      []Instance      `json:"vrrp_instances"`
	VirtualServers []VirtualServer `json:"virtual_servers"`
	// BGPPeers and BGPAnnouncements are the BGP extension's sessions and
	// bgp_announce blocks.
	BGPPeers         []BGPPeer         `json:"bgp_peers,omitempty"`
	BGPAnnouncements []BGPAnnouncement `json:"bgp_announcements,omitempty"`
	// Drains are the drains in force, set by the drain commands.
	Drains []Drain `json:"drains,omitempty"`
}

// Drain is one drain in force: of a real server, or of the whole
// director (RealServer and VirtualServer empty).
type Drain struct {
	VirtualServer string    `json:"virtual_server,omitempty"`
	RealServer    string    `json:"real_server,omitempty"`
	Since         time.Time `json:"since"`
	// Deadline is when the real server leaves the table whatever its
	// connections; zero for no limit.
	Deadline time.Time `json:"deadline,omitzero"`
	// Removed says the real server has left the table: its active
	// connections ended or its deadline passed.
	Removed bool `json:"removed,omitempty"`
}

// BGPPeer is one BGP session's state.
type BGPPeer struct {
	Neighbor string `json:"neighbor"`
	RemoteAS uint32 `json:"remote_as"`
	State    string `json:"state"`
}

// BGPAnnouncement is one bgp_announce block's state.
type BGPAnnouncement struct {
	Name      string `json:"name"`
	Prefix    string `json:"prefix"`
	Announced bool   `json:"announced"`
}

// Instance is a VRRP instance's state.
type Instance struct {
	Name              string    `json:"name"`
	Interface         string    `json:"interface"`
	VRID              int       `json:"virtual_router_id"`
	State             string    `json:"state"`
	Priority          int       `json:"priority"`
	EffectivePriority int       `json:"effective_priority"`
	Master            string    `json:"master,omitempty"`
	VIPs              []string  `json:"virtual_ipaddress"`
	LastTransition    time.Time `json:"last_transition,omitzero"`
	AdvertsSent       uint64    `json:"adverts_sent"`
	AdvertsReceived   uint64    `json:"adverts_received"`
	Drops             uint64    `json:"drops"`
}

// VirtualServer is an IPVS virtual server and the health of its real
// servers.
type VirtualServer struct {
	Name        string `json:"name"`
	QuorumUp    bool   `json:"quorum_up"`
	SorryServer bool   `json:"sorry_server_in_use"`
	// OrderFingerprint is, for an mh virtual server, the hash of its
	// destinations as the kernel lists them (ipvs.OrderFingerprint):
	// directors sharing its address by ECMP must show the same.
	OrderFingerprint *uint32      `json:"destination_order_fingerprint,omitempty"`
	RealServers      []RealServer `json:"real_servers"`
}

// RealServer is one real server's health and place in the pool.
type RealServer struct {
	Name       string    `json:"name"`
	Alive      bool      `json:"alive"`
	InPool     bool      `json:"in_pool"`
	Weight     int       `json:"weight"`
	Configured int       `json:"configured_weight"`
	LastResult string    `json:"last_result,omitempty"`
	LastChange time.Time `json:"last_change,omitzero"`
}

// Limits of a connection: a request is one short line, and neither it nor
// the answer may take a connection longer than requestTimeout. At most
// maxConns connections are served at once; the next ones wait in the
// listen backlog, so that a flood of them cannot take the descriptors the
// checks need.
const (
	maxRequest     = 256
	requestTimeout = 5 * time.Second
	maxConns       = 8
	// maxDrain bounds what is read and dropped of a request too long.
	maxDrain = 64 << 10
)

// errRequestTooLong is the error of a request line over maxRequest bytes.
var errRequestTooLong = fmt.Errorf("request longer than %d bytes", maxRequest)

// A Server answers status requests on a Unix socket.
type Server struct {
	// Path is the socket's path.
	Path string
	// Status takes the snapshot a request answers with.
	Status func() Status
	// Log receives the errors of connections; nil discards them.
	Log logrus.FieldLogger
	// Command carries out a command; nil refuses every command.
	Command func(Command) error

	panics atomic.Uint64
	// testPanic, when set, is called as each connection is served, so
	// that tests can make a connection panic.
	testPanic func()
	// timeout replaces requestTimeout when set, for tests.
	timeout time.Duration
}

// Serve answers status requests on a Unix socket at path until ctx ends,
// then removes the socket. A stale socket left by a killed daemon is
// replaced; a live one (another daemon answering) is an error.
func Serve(ctx context.Context, path string, status func() Status, log logrus.FieldLogger) error {
	return (&Server{Path: path, Status: status, Log: log}).Serve(ctx)
}

// Serve answers requests until ctx ends, then removes the socket. A stale
// socket left by a killed daemon is replaced; a live one (another daemon
// answering) is an error.
func (s *Server) Serve(ctx context.Context) error {
	path := s.Path
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another daemon is answering on it", path)
	}
	ln, err := listen(path)
	if err != nil {
		return err
	}
	ln = netutil.LimitListener(ln, maxConns)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer os.Remove(path)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control socket %s: %w", path, err)
		}
		go s.serveConn(c)
	}
}

// listen listens on a Unix socket at path that only its owner can
// connect to. Status says much about the network, and the drain commands
// move traffic: root only, from the first moment. The socket is bound in a directory of its
// own that only the owner can enter, made 0600 there, and only then moved
// to path; a connection can reach it nowhere else.
func listen(path string) (net.Listener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	defer os.Remove(dir)
	tmp := filepath.Join(dir, "sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// Serve removes the socket at path; the bound name is gone.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// The rename replaces a stale socket left by a killed daemon.
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// Panics returns the number of panics contained in the connections'
// handlers since the Server was created. Each was logged at error level
// with its stack and closed its connection; the socket went on serving.
func (s *Server) Panics() uint64 { return s.panics.Load() }

func (s *Server) log() logrus.FieldLogger {
	if s.Log == nil {
		l := logrus.New()
		l.Out = io.Discard
		return l
	}
	return s.Log
}

// serveConn answers one request. A panic in it, a bug, closes the
// connection rather than the daemon, whose VIPs and table outlive any
// status request.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	defer func() {
		if v := recover(); v != nil {
			s.panics.Add(1)
			s.log().Errorf("control socket %s: recovered from panic: %v\n%s", s.Path, v, debug.Stack())
		}
	}()
	if s.testPanic != nil {
		s.testPanic()
	}
	// One deadline for the request and its answer: a client that
	// neither sends nor reads lets go of the connection all the same.
	timeout := requestTimeout
	if s.timeout > 0 {
		timeout = s.timeout
	}
	c.SetDeadline(time.Now().Add(timeout))
	req, readErr := readRequest(c)
	if readErr != nil && !errors.Is(readErr, errRequestTooLong) {
		s.log().Debugf("control socket %s: reading a request: %v", s.Path, readErr)
		return
	}
	if _, err := c.Write(answer(req, readErr, s.Status, s.Command)); err != nil {
		s.log().Debugf("control socket %s: answering %q: %v", s.Path, req, err)
	}
	if readErr != nil {
		// Closed with the rest of the request unread, the socket would
		// be reset and the client lose the answer: what it still sends,
		// within bounds, is read and dropped.
		io.Copy(io.Discard, io.LimitReader(c, maxDrain))
	}
}

// readRequest reads a request: one line of at most maxRequest bytes, the
// newline included, or what comes before the end of the stream. The
// request is the line without surrounding blanks.
func readRequest(r io.Reader) (string, error) {
	// One byte more than the limit tells a long line from one that
	// just fits.
	br := bufio.NewReaderSize(io.LimitReader(r, maxRequest+1), maxRequest+1)
	line, err := br.ReadString('\n')
	switch {
	case len(line) > maxRequest:
		return "", errRequestTooLong
	case errors.Is(err, io.EOF) && line == "":
		return "", io.ErrUnexpectedEOF
	case err != nil && !errors.Is(err, io.EOF):
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// answer is the answer to req, or to the error reading it: the status as
// JSON, or a JSON error.
func answer(req string, readErr error, status func() Status, command func(Command) error) []byte {
	var b []byte
	var err error
	switch {
	case readErr != nil:
		b, err = json.Marshal(map[string]string{"error": readErr.Error()})
	case req == "status":
		b, err = json.Marshal(status())
	default:
		// An unknown request is echoed as text, whatever its bytes.
		b, err = json.Marshal(commandAnswer(req, command))
	}
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return append(b, '\n')
}

// Query asks the daemon listening at path for its status.
func Query(path string) (*Status, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connecting to the daemon at %s: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "status\n"); err != nil {
		return nil, fmt.Errorf("asking the daemon at %s: %w", path, err)
	}
	var s Status
	if err := json.NewDecoder(c).Decode(&s); err != nil {
		return nil, fmt.Errorf("reading the daemon's answer from %s: %w", path, err)
	}
	return &s, nil
}

// WriteTable prints s for a person: one table of VRRP instances, one of
// real servers under their virtual servers.
func WriteTable(w io.Writer, s *Status, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "gokeepalived %s, %s, up %s\n\n", s.Version, s.ConfigFile, now.Sub(s.Started).Round(time.Second))
	if len(s.Instances) > 0 {
		fmt.Fprintln(tw, "INSTANCE\tINTERFACE\tVRID\tSTATE\tPRIORITY\tEFFECTIVE\tMASTER\tVIPS\tLAST TRANSITION")
		for _, in := range s.Instances {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", in.Name, in.Interface, in.VRID, in.State,
				in.Priority, in.EffectivePriority, orDash(in.Master), strings.Join(in.VIPs, ","), ago(in.LastTransition, now))
		}
		fmt.Fprintln(tw)
	}
	if len(s.VirtualServers) > 0 {
		fmt.Fprintln(tw, "VIRTUAL SERVER\tREAL SERVER\tHEALTH\tIN POOL\tWEIGHT\tLAST CHECK")
		for _, vs := range s.VirtualServers {
			q := "quorum up"
			if !vs.QuorumUp {
				q = "quorum down"
			}
			if vs.SorryServer {
				q += ", sorry server in use"
			}
			if fp := vs.OrderFingerprint; fp != nil {
				q += fmt.Sprintf(", order %08x", *fp)
			}
			fmt.Fprintf(tw, "%s\t(%s)\t\t\t\t\n", vs.Name, q)
			for _, rs := range vs.RealServers {
				health := "down"
				if rs.Alive {
					health = "up"
				}
				pool := "no"
				if rs.InPool {
					pool = "yes"
				}
				fmt.Fprintf(tw, "\t%s\t%s\t%s\t%d/%d\t%s\n", rs.Name, health, pool, rs.Weight, rs.Configured,
					orDash(strings.TrimSpace(rs.LastResult+" "+ago(rs.LastChange, now))))
			}
		}
	}
	if len(s.VirtualServers) > 0 && len(s.BGPPeers)+len(s.BGPAnnouncements) > 0 {
		fmt.Fprintln(tw)
	}
	if len(s.BGPPeers) > 0 {
		fmt.Fprintln(tw, "BGP NEIGHBOR\tREMOTE AS\tSTATE")
		for _, p := range s.BGPPeers {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", p.Neighbor, p.RemoteAS, p.State)
		}
		fmt.Fprintln(tw)
	}
	if len(s.BGPAnnouncements) > 0 {
		fmt.Fprintln(tw, "BGP ANNOUNCEMENT\tPREFIX\tSTATE")
		for _, a := range s.BGPAnnouncements {
			state := "withdrawn"
			if a.Announced {
				state = "announced"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.Prefix, state)
		}
	}
	if len(s.Drains) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "DRAINED\tREAL SERVER\tSTATE\tSINCE\tDEADLINE")
		for _, d := range s.Drains {
			what, rs := "director", "-"
			if d.RealServer != "" {
				what, rs = d.VirtualServer, d.RealServer
			}
			state := "draining"
			if d.Removed {
				state = "removed"
			}
			deadline := "-"
			if !d.Deadline.IsZero() {
				deadline = d.Deadline.Sub(now).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", what, rs, state, ago(d.Since, now), deadline)
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
