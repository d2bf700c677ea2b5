package checkers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The lab puts every real server on its own address and port of a dummy
// link, in 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks:
// TCP_CHECK servers on 198.18.0.0/24, HTTP_GET servers on 198.18.1.0/24,
// perGroup ports per address. Each address is one virtual server; the
// virtual addresses are in TEST-NET-3 and need not exist, as IPVS NAT
// only matches packets to them.
const (
	labLink   = "gkbench0"
	perGroup  = 100
	tcpPort   = 10000
	httpPort  = 8000
	tcpDelay  = 1 // delay_loop of the TCP_CHECK virtual servers
	httpDelay = 2 // delay_loop of the HTTP_GET virtual servers
	maxGroups = 254
	indexBody = "gokeepalived checker benchmark\n"
)

var (
	tcpVIP  = netip.MustParseAddr("203.0.113.1")
	httpVIP = netip.MustParseAddr("203.0.113.2")
)

// A size is how many real servers of each kind the lab has.
type size struct {
	tcp, http int
}

// parseSize reads "TCP:HTTP", real server counts.
func parseSize(s string) (size, error) {
	t, h, ok := strings.Cut(s, ":")
	if !ok {
		return size{}, fmt.Errorf("parsing size %q: want TCP:HTTP real server counts", s)
	}
	var z size
	var err error
	if z.tcp, err = strconv.Atoi(t); err != nil {
		return size{}, fmt.Errorf("parsing size %q: %w", s, err)
	}
	if z.http, err = strconv.Atoi(h); err != nil {
		return size{}, fmt.Errorf("parsing size %q: %w", s, err)
	}
	if z.tcp < 0 || z.http < 0 || z.tcp+z.http == 0 || groups(z.tcp) > maxGroups || groups(z.http) > maxGroups {
		return size{}, fmt.Errorf("parsing size %q: counts must be 0 to %d, not both 0", s, maxGroups*perGroup)
	}
	return z, nil
}

// parseSizes reads a comma-separated list of sizes.
func parseSizes(s string) ([]size, error) {
	var zs []size
	for f := range strings.SplitSeq(s, ",") {
		z, err := parseSize(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		zs = append(zs, z)
	}
	return zs, nil
}

func (s size) String() string { return fmt.Sprintf("%d:%d", s.tcp, s.http) }

// total is the number of real servers.
func (s size) total() int { return s.tcp + s.http }

// checksPerSecond is the rate the configuration asks for.
func (s size) checksPerSecond() float64 {
	return float64(s.tcp)/tcpDelay + float64(s.http)/httpDelay
}

func groups(n int) int { return (n + perGroup - 1) / perGroup }

// realServer returns the address of the i'th real server of a kind:
// subnet 0 is TCP_CHECK's, 1 is HTTP_GET's.
func realServer(subnet byte, port uint16, i int) netip.AddrPort {
	return netip.AddrPortFrom(groupAddr(subnet, i/perGroup), port+uint16(i%perGroup))
}

func groupAddr(subnet byte, g int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, subnet, byte(g + 1)})
}

// addrs returns the link addresses the lab's real servers need.
func (s size) addrs() []netip.Addr {
	var as []netip.Addr
	for g := range groups(s.tcp) {
		as = append(as, groupAddr(0, g))
	}
	for g := range groups(s.http) {
		as = append(as, groupAddr(1, g))
	}
	return as
}

// config returns the keepalived.conf both daemons run: one virtual server
// per group of real servers, weight 1, lb_kind NAT, and the checkers'
// defaults otherwise, so that each daemon's defaults are what is measured.
func (s size) config() string {
	var b strings.Builder
	b.WriteString("# gokeepalived checker benchmark, size " + s.String() + "\n")
	b.WriteString("global_defs {\n\trouter_id gkbench\n}\n")
	vs := func(vip netip.Addr, g, delay, n int, subnet byte, port uint16, check string) {
		fmt.Fprintf(&b, "\nvirtual_server %s %d {\n\tdelay_loop %d\n\tlb_algo rr\n\tlb_kind NAT\n\tprotocol TCP\n",
			vip, int(port)+g, delay)
		for i := g * perGroup; i < min((g+1)*perGroup, n); i++ {
			rs := realServer(subnet, port, i)
			fmt.Fprintf(&b, "\treal_server %s %d {\n\t\tweight 1\n%s\t}\n", rs.Addr(), rs.Port(), check)
		}
		b.WriteString("}\n")
	}
	for g := range groups(s.tcp) {
		vs(tcpVIP, g, tcpDelay, s.tcp, 0, tcpPort, "\t\tTCP_CHECK {\n\t\t}\n")
	}
	for g := range groups(s.http) {
		vs(httpVIP, g, httpDelay, s.http, 1, httpPort,
			"\t\tHTTP_GET {\n\t\t\turl {\n\t\t\t\tpath /index.html\n\t\t\t\tstatus_code 200\n\t\t\t}\n\t\t}\n")
	}
	return b.String()
}

// listenersEnv carries the size to the listener process, the test binary
// run again with TestListenerProcess selected.
const listenersEnv = "GOKEEPALIVED_BENCH_LISTENERS"

// listeners is the process that serves the real servers. It runs apart
// from the daemons and from the test, so that its CPU time is nobody's and
// a daemon stalling does not stall it.
type listeners struct {
	cmd  *exec.Cmd
	ask  io.WriteCloser
	tell *bufio.Reader
}

// startListeners starts the real servers of s on cpu (any when
// negative) and waits until they all listen. The process goes when t
// ends.
func startListeners(t *testing.T, s size, cpu int) *listeners {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run", "^TestListenerProcess$")
	cmd.Env = append(os.Environ(), listenersEnv+"="+s.String())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	ask, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := startOn(cmd, cpu); err != nil {
		t.Fatalf("starting the listeners: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		r.Close()
	})
	l := &listeners{cmd: cmd, ask: ask, tell: bufio.NewReader(r)}
	line, err := l.tell.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("starting the listeners of %d real servers: %q, %v", s.total(), line, err)
	}
	return l
}

// counts returns how many TCP connections and HTTP requests the real
// servers have accepted so far.
func (l *listeners) counts() (tcp, http uint64, err error) {
	if _, err := io.WriteString(l.ask, "count\n"); err != nil {
		return 0, 0, fmt.Errorf("asking the listeners for their counts: %w", err)
	}
	line, err := l.tell.ReadString('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("reading the listeners' counts: %w", err)
	}
	if _, err := fmt.Sscanf(line, "%d %d", &tcp, &http); err != nil {
		return 0, 0, fmt.Errorf("reading the listeners' counts %q: %w", line, err)
	}
	return tcp, http, nil
}

// stop ends the listener process.
func (l *listeners) stop() error {
	l.ask.Close()
	if err := l.cmd.Wait(); err != nil {
		return fmt.Errorf("stopping the listeners: %w", err)
	}
	return nil
}

// TestListenerProcess is the listener process itself: it serves the
// real servers, writes "ready" on file descriptor 3 once they all listen,
// then answers each line on its standard input with the counts, until the
// input ends.
func TestListenerProcess(t *testing.T) {
	spec := os.Getenv(listenersEnv)
	if spec == "" {
		t.Skip("the real servers of TestGuestCheckerBench, which starts it")
	}
	s, err := parseSize(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := raiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	tell := os.NewFile(3, "counts")
	var tcpN, httpN atomic.Uint64
	for i := range s.tcp {
		ln, err := net.Listen("tcp", realServer(0, tcpPort, i).String())
		if err != nil {
			t.Fatalf("real server: %v", err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if errors.Is(err, net.ErrClosed) {
					return
				}
				if err != nil {
					// EMFILE and the like: back off as net/http does.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				tcpN.Add(1)
				c.Close()
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /index.html", func(w http.ResponseWriter, _ *http.Request) {
		httpN.Add(1)
		io.WriteString(w, indexBody)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	defer srv.Close()
	for i := range s.http {
		ln, err := net.Listen("tcp", realServer(1, httpPort, i).String())
		if err != nil {
			t.Fatalf("real server: %v", err)
		}
		go srv.Serve(ln)
	}
	if _, err := io.WriteString(tell, "ready\n"); err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if _, err := fmt.Fprintf(tell, "%d %d\n", tcpN.Load(), httpN.Load()); err != nil {
			t.Fatal(err)
		}
	}
}

// raiseFileLimit lets a process hold a socket per real server, and its
// children inherit that: the guest's init leaves the kernel's 1024/4096.
func raiseFileLimit() error {
	lim := syscall.Rlimit{Cur: 1 << 16, Max: 1 << 16}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising RLIMIT_NOFILE to %d: %w", lim.Max, err)
	}
	return nil
}
