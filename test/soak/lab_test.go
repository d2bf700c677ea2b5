package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab: directors a (10.0.0.1, priority 150) and b (10.0.0.2, 100) and
// a real-server host on one bridge, all in 10.0.0.0/16. VRRP instance i
// (VRID i) owns VIP 10.0.200.i, the address of virtual server i, which has
// perVS real servers: one port on each of the real-server host's rsAddrs
// addresses. Even virtual servers use TCP_CHECK, odd ones HTTP_GET; pairs
// of them alternate between delay_loop 1 and 2.
const (
	instances  = 50
	perVS      = 10
	rsAddrs    = perVS
	realCount  = instances * perVS
	basePort   = 10000
	advertInt  = time.Second
	retry      = 1
	retryDelay = time.Second
	// metricsAddr is where each daemon serves metrics, inside its own
	// namespace.
	metricsAddr = "127.0.0.1:9100"
	httpBody    = "soak\n"
)

// A timing is the checkers' pace: the two delay_loop values and
// connect_timeout.
type timing struct {
	delays  [2]int // seconds
	connect time.Duration
}

// nativeTiming is the pace on a kernel with IPVS of its own.
var nativeTiming = timing{delays: [2]int{1, 2}, connect: time.Second}

// guestTiming is the pace in the kernel guest. Under qemu's emulation
// (TCG) a check costs about 2 ms of guest CPU: 500 real servers at
// delay_loop 1 and 2, checked by two daemons and served by the test, need
// more than the guest's two vCPUs, and the starved VRRP loops miss
// adverts. Four times slower checks leave room; connect_timeout grows
// for the emulated network stack.
var guestTiming = timing{delays: [2]int{4, 8}, connect: 3 * time.Second}

// parseTiming reads SOAK_DELAY_LOOP, "LOW,HIGH" in seconds.
func parseTiming(s string, base timing) (timing, error) {
	lo, hi, ok := strings.Cut(s, ",")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b < a {
		return timing{}, fmt.Errorf("parsing delay loops %q: want LOW,HIGH seconds, 1 <= LOW <= HIGH", s)
	}
	base.delays = [2]int{a, b}
	return base, nil
}

// lag bounds how long a checker takes to see a listener's change: the
// next check at the longer delay_loop, its retry after
// delay_before_retry, each attempt up to connect_timeout, and a margin
// for a busy (or emulated) machine.
func (tm timing) lag() time.Duration {
	return time.Duration(tm.delays[1])*time.Second + (retry+1)*tm.connect + retry*retryDelay + 4*time.Second
}

// holdMin is the shortest a real server stays down or up: long enough for
// both daemons to see it and for two status polls to catch it.
func (tm timing) holdMin() time.Duration { return tm.lag() + 2*pollEvery }

func (tm timing) holdMax() time.Duration { return 2 * tm.holdMin() }

func (tm timing) String() string {
	return fmt.Sprintf("delay_loop %d and %d, connect_timeout %s, retry %d, delay_before_retry %s",
		tm.delays[0], tm.delays[1], tm.connect, retry, retryDelay)
}

// A realServer is one listener of the real-server host.
type realServer struct {
	index int
	addr  string // host:port
	http  bool
	delay int // the virtual server's delay_loop in seconds
	// name is how the daemon's status names it: "[10.0.1.1]:tcp:10000".
	name string
}

func realServers(tm timing) []realServer {
	rs := make([]realServer, realCount)
	for i := range rs {
		vs := i / perVS
		ip := fmt.Sprintf("10.0.1.%d", 1+i%perVS)
		port := basePort + vs
		rs[i] = realServer{
			index: i,
			addr:  fmt.Sprintf("%s:%d", ip, port),
			http:  vs%2 == 1,
			delay: tm.delays[(vs/2)%2],
			name:  fmt.Sprintf("[%s]:tcp:%d", ip, port),
		}
	}
	return rs
}

// keepalivedConf is director name's keepalived.conf.
func keepalivedConf(name string, priority int, rs []realServer, tm timing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n\trouter_id soak-%s\n}\n\n", name)
	for i := 1; i <= instances; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n\tstate BACKUP\n\tinterface eth0\n\tvirtual_router_id %d\n\tpriority %d\n\tadvert_int %d\n\tvirtual_ipaddress {\n\t\t10.0.200.%d\n\t}\n}\n\n",
			i, i, priority, int(advertInt/time.Second), i)
	}
	for v := range instances {
		first := rs[v*perVS]
		fmt.Fprintf(&b, "virtual_server 10.0.200.%d 80 {\n\tdelay_loop %d\n\tlb_algo rr\n\tlb_kind NAT\n\tprotocol TCP\n", v+1, first.delay)
		for _, r := range rs[v*perVS : (v+1)*perVS] {
			host, port, _ := strings.Cut(r.addr, ":")
			fmt.Fprintf(&b, "\treal_server %s %s {\n\t\tweight 1\n", host, port)
			timing := fmt.Sprintf("\t\t\tconnect_timeout %d\n\t\t\tretry %d\n\t\t\tdelay_before_retry %d\n",
				int(tm.connect/time.Second), retry, int(retryDelay/time.Second))
			if r.http {
				fmt.Fprintf(&b, "\t\tHTTP_GET {\n\t\t\turl {\n\t\t\t\tpath /\n\t\t\t\tstatus_code 200\n\t\t\t}\n%s\t\t}\n", timing)
			} else {
				fmt.Fprintf(&b, "\t\tTCP_CHECK {\n%s\t\t}\n", timing)
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

// A listeners runs the real servers in the real-server host's namespace.
type listeners struct {
	host *nettest.Host
	rs   []realServer
	mu   sync.Mutex
	open map[int]io.Closer
}

func newListeners(host *nettest.Host, rs []realServer) *listeners {
	return &listeners{host: host, rs: rs, open: map[int]io.Closer{}}
}

// start opens the listeners of the given real servers. The sockets are
// made inside the namespace; their goroutines serve them from anywhere.
func (l *listeners) start(idx ...int) error {
	var lns []net.Listener
	err := l.host.Do(func() error {
		for _, i := range idx {
			ln, err := net.Listen("tcp", l.rs[i].addr)
			if err != nil {
				for _, ln := range lns {
					ln.Close()
				}
				return fmt.Errorf("listening on %s: %w", l.rs[i].addr, err)
			}
			lns = append(lns, ln)
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, i := range idx {
		ln := lns[k]
		if l.rs[i].http {
			srv := &http.Server{
				Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					io.WriteString(w, httpBody)
				}),
				ReadHeaderTimeout: 5 * time.Second,
			}
			go srv.Serve(ln)
			l.open[i] = srv
		} else {
			go acceptAndClose(ln)
			l.open[i] = ln
		}
	}
	return nil
}

// acceptAndClose is a TCP_CHECK real server: a connection is all it checks.
func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// stop closes real server i's listener: connections to it are refused.
func (l *listeners) stop(i int) error {
	l.mu.Lock()
	c := l.open[i]
	delete(l.open, i)
	l.mu.Unlock()
	if c == nil {
		return fmt.Errorf("stopping %s: not running", l.rs[i].addr)
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("stopping %s: %w", l.rs[i].addr, err)
	}
	return nil
}

func (l *listeners) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range l.open {
		c.Close()
		delete(l.open, i)
	}
}

// A daemon is one director's gokeepalived.
type daemon struct {
	name    string
	host    *nettest.Host
	pid     int
	socket  string
	logPath string
	done    chan struct{}
	err     error
	metrics *http.Client
}

// startDaemon runs gokeepalived in host with conf, its pid files, control
// socket and log in a directory of its own. It is killed when the test
// ends if the test did not stop it.
func startDaemon(t *testing.T, bin, name string, host *nettest.Host, conf string) *daemon {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &daemon{
		name:    name,
		host:    host,
		socket:  filepath.Join(dir, "control.sock"),
		logPath: filepath.Join(dir, "daemon.log"),
		done:    make(chan struct{}),
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs the daemon: the pid is the daemon's.
	cmd := host.Exec(bin, "-n", "-l", "-D", "-f", cf,
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"),
		"--control-socket="+d.socket, "--metrics-listen="+metricsAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting gokeepalived in %s: %v", host.NS, err)
	}
	d.pid = cmd.Process.Pid
	go func() {
		d.err = cmd.Wait()
		logf.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			cmd.Process.Kill()
			<-d.done
		}
	})
	// The metrics endpoint listens inside the director's namespace: the
	// client's sockets are made there.
	d.metrics = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				err := host.Do(func() error {
					var err error
					c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
					return err
				})
				return c, err
			},
		},
	}
	return d
}

// status reads the daemon's status from its control socket.
func (d *daemon) status() (*control.Status, error) {
	return control.Query(d.socket)
}

// scrape reads the daemon's metrics and returns every sample, keyed by
// name with its labels as written.
func (d *daemon) scrape() (map[string]float64, error) {
	resp, err := d.metrics.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scraping %s's metrics: %w", d.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s's metrics: %s", d.name, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// stop sends SIGTERM and waits for the daemon to exit.
func (d *daemon) stop(limit time.Duration) error {
	if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping %s: %w", d.name, err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			return fmt.Errorf("%s exited: %w", d.name, d.err)
		}
		return nil
	case <-time.After(limit):
		return fmt.Errorf("%s did not exit within %s of SIGTERM", d.name, limit)
	}
}

// running reports an error if the daemon has exited.
func (d *daemon) running() error {
	select {
	case <-d.done:
		return fmt.Errorf("%s exited: %v", d.name, d.err)
	default:
		return nil
	}
}

// diagnose describes the daemon for a failure report: its CPU time, the
// VRRP state changes and dropped adverts it logged, and its last lines.
func (d *daemon) diagnose() string {
	var b strings.Builder
	if ticks, err := procCPU(d.pid); err == nil {
		fmt.Fprintf(&b, "%s: %.1f s of CPU\n", d.name, float64(ticks)/100)
	}
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		fmt.Fprintf(&b, "%s: %v\n", d.name, err)
		return b.String()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var vrrp []string
	for _, l := range lines {
		if strings.Contains(l, "STATE") || strings.Contains(l, "advert") {
			vrrp = append(vrrp, l)
		}
	}
	fmt.Fprintf(&b, "%s: %d log lines, %d on VRRP states and adverts; the last of those:\n%s\n", d.name, len(lines), len(vrrp),
		strings.Join(vrrp[max(0, len(vrrp)-60):], "\n"))
	fmt.Fprintf(&b, "%s: last log lines:\n%s", d.name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	return b.String()
}

// logLines counts the lines of the daemon's log that contain s.
func (d *daemon) logLines(s string) int {
	f, err := os.Open(d.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}
