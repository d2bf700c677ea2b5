package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/internal/bgp"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// vrrpSource is what the metrics read of the VRRP loop; *vrrpd.Loop is
// one.
type vrrpSource interface {
	Statuses() []vrrp.Status
	Drops() map[vrrp.DropReason]uint64
	Panics() uint64
	SocketErrors() uint64
	LinkResubscriptions() uint64
}

// checkerSource is what the metrics read of the checker loop;
// *checkerd.Loop is one.
type checkerSource interface {
	Servers() []lvs.VirtualServerStatus
	TableStats() ipvs.Stats
	OrderFingerprint(lvs.VirtualServerStatus) (uint32, bool)
	Panics() uint64
}

// metrics exports the daemon's state to Prometheus. Values are read from
// the loops when scraped, so nothing on the advert or check paths pays for
// them.
type metrics struct {
	d *daemon
	// vrrp and checker return the running loops, or nil.
	vrrp    func() vrrpSource
	checker func() checkerSource

	reloadsOK, reloadsFailed atomic.Uint64
	// reloadFailed says the last reload was refused: the daemon runs a
	// configuration older than its file.
	reloadFailed atomic.Bool
	// panics counts the panics contained in the /metrics handler.
	panics atomic.Uint64
	// testPanic, when set, is called as each request is handled, so that
	// tests can make the handler panic.
	testPanic func()

	vrrpState, vrrpPriority, vrrpEffective, vrrpTransitions *prometheus.Desc
	advertsSent, advertsReceived, vrrpDrops, socketDrops    *prometheus.Desc
	vrrpPanics, panicsTotal                                 *prometheus.Desc
	vrrpSocketErrors, vrrpResubscriptions, scriptsDropped   *prometheus.Desc
	rsUp, rsWeight, rsInPool, vsQuorum, vsSorry             *prometheus.Desc
	ipvsPasses, ipvsOps, ipvsErrors, reloads                *prometheus.Desc
	reloadOK, buildInfo                                     *prometheus.Desc
	bgpPeerState, bgpAnnounced                              *prometheus.Desc
	drained, orderFingerprint                               *prometheus.Desc

	// The checkers' attempts are counted as they end, from the
	// scheduler's observer, since no loop keeps them; only when
	// --metrics-listen serves them, as nothing else reads them.
	served        bool
	checkDuration *prometheus.HistogramVec
	checkFailures *prometheus.CounterVec
	// durations holds each checker kind's duration series, a
	// prometheus.Observer: looking it up by label hashes the kind and
	// takes the vector's lock, on every attempt of every real server.
	durations sync.Map
}

func newMetrics(d *daemon) *metrics {
	// vrrp_instance, not instance: Prometheus gives every scraped series
	// the instance label of its target, and would rename ours.
	inst := []string{"vrrp_instance"}
	rs := []string{"virtual_server", "real_server"}
	return &metrics{
		d: d,
		vrrp: func() vrrpSource {
			if v := d.vrrpLoop(); v != nil {
				return v
			}
			return nil
		},
		checker: func() checkerSource {
			if c := d.checkerLoop(); c != nil {
				return c
			}
			return nil
		},
		served: d.s != nil && d.s.metricsListen != "",
		// The state carries what names the virtual router on the
		// segment, so that rules can count the masters of one VRID
		// across directors.
		vrrpState: prometheus.NewDesc("gokeepalived_vrrp_state",
			"1 for the state the VRRP instance is in, 0 for the others; with the instance's virtual_router_id, interface and address family (inet, inet6).",
			[]string{"vrrp_instance", "vrid", "interface", "family", "state"}, nil),
		vrrpPriority:    prometheus.NewDesc("gokeepalived_vrrp_priority", "Configured priority of the VRRP instance.", inst, nil),
		vrrpEffective:   prometheus.NewDesc("gokeepalived_vrrp_effective_priority", "Priority after tracking adjustments.", inst, nil),
		vrrpTransitions: prometheus.NewDesc("gokeepalived_vrrp_transitions_total", "State transitions of the VRRP instance.", inst, nil),
		advertsSent:     prometheus.NewDesc("gokeepalived_vrrp_adverts_sent_total", "VRRP advertisements sent.", inst, nil),
		advertsReceived: prometheus.NewDesc("gokeepalived_vrrp_adverts_received_total", "Valid VRRP advertisements received.", inst, nil),
		vrrpDrops:       prometheus.NewDesc("gokeepalived_vrrp_dropped_total", "VRRP advertisements dropped by an instance, by reason.", []string{"vrrp_instance", "reason"}, nil),
		socketDrops:     prometheus.NewDesc("gokeepalived_vrrp_socket_dropped_total", "VRRP packets dropped before reaching an instance (unknown VRID, bad header), by reason.", []string{"reason"}, nil),
		vrrpPanics:      prometheus.NewDesc("gokeepalived_vrrp_panics_total", "Panics recovered in VRRP goroutines (packet readers, timers, trackers); the instance went on in its state.", nil, nil),
		panicsTotal:     prometheus.NewDesc("gokeepalived_panics_total", "Panics recovered, by loop: vrrp and checker (their goroutines, check attempts, and the loop itself, which restarted), control (status socket connections), metrics (/metrics requests). Each was logged with its stack.", []string{"loop"}, nil),
		vrrpSocketErrors: prometheus.NewDesc("gokeepalived_vrrp_socket_errors_total",
			"VRRP sockets that failed and were opened again; the instances on them kept their states.", nil, nil),
		vrrpResubscriptions: prometheus.NewDesc("gokeepalived_vrrp_netlink_resubscriptions_total",
			"Netlink link and address subscriptions lost (as to a burst of changes) and made again, with every carrier read anew.", nil, nil),
		scriptsDropped: prometheus.NewDesc("gokeepalived_notify_scripts_dropped_total",
			"Notify script runs dropped because their source's queue was full; each was logged.", nil, nil),
		rsUp:     prometheus.NewDesc("gokeepalived_checker_real_server_up", "1 when every checker of the real server passes.", rs, nil),
		rsWeight: prometheus.NewDesc("gokeepalived_checker_real_server_weight", "Effective weight of the real server.", rs, nil),
		rsInPool: prometheus.NewDesc("gokeepalived_ipvs_real_server_in_pool", "1 when the real server is in the IPVS table.", rs, nil),
		vsQuorum: prometheus.NewDesc("gokeepalived_ipvs_virtual_server_quorum_up", "1 when the virtual server has its quorum.", []string{"virtual_server"}, nil),
		vsSorry:  prometheus.NewDesc("gokeepalived_ipvs_virtual_server_sorry_server", "1 when the sorry server is in use.", []string{"virtual_server"}, nil),
		orderFingerprint: prometheus.NewDesc("gokeepalived_ipvs_destination_order_fingerprint",
			"For a virtual server with the mh scheduler, a 32-bit hash of its destinations as the kernel lists them (address, port, weight above 0, in order): mh builds its table from that list, so directors announcing one address (ECMP) send each client to the same real server only when their values are equal.",
			[]string{"virtual_server"}, nil),
		ipvsPasses: prometheus.NewDesc("gokeepalived_ipvs_reconcile_passes_total", "Reconcile passes over the IPVS table.", nil, nil),
		ipvsOps:    prometheus.NewDesc("gokeepalived_ipvs_operations_total", "Changes issued to the kernel's IPVS table.", nil, nil),
		ipvsErrors: prometheus.NewDesc("gokeepalived_ipvs_errors_total", "Failed IPVS reads and changes.", nil, nil),
		reloads:    prometheus.NewDesc("gokeepalived_config_reloads_total", "Configuration reloads, by result.", []string{"result"}, nil),
		reloadOK: prometheus.NewDesc("gokeepalived_config_last_reload_successful",
			"0 when the last reload was refused, the configuration file having errors, and the daemon runs the configuration it had; 1 otherwise.", nil, nil),
		bgpPeerState: prometheus.NewDesc("gokeepalived_bgp_peer_state",
			"1 for the BGP session's current state (Idle, Connect, Active, OpenSent, OpenConfirm, Established), 0 for the others.",
			[]string{"neighbor", "state"}, nil),
		bgpAnnounced: prometheus.NewDesc("gokeepalived_bgp_announced",
			"1 while the bgp_announce block's prefix is announced, 0 while it is withdrawn.",
			[]string{"announcement", "prefix"}, nil),
		drained: prometheus.NewDesc("gokeepalived_drained",
			"1 for each drain in force: of the director (what=\"director\"), or of a real server (what=\"real_server\"), 2 once the drained real server has left the table.",
			[]string{"what", "virtual_server", "real_server"}, nil),
		buildInfo: prometheus.NewDesc("gokeepalived_build_info", "Always 1; the labels say which gokeepalived runs.",
			[]string{"version", "goversion"}, nil),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gokeepalived_check_duration_seconds",
			Help: "Duration of health check attempts, passed or failed, by checker kind.",
			// From a local TCP connect (well under a millisecond) to
			// connect_timeout's default of 5 s and beyond.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"checker"}),
		checkFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gokeepalived_check_failures_total",
			Help: "Failed health check attempts, retries included, by checker kind.",
		}, []string{"checker"}),
	}
}

// observeAttempt counts one checker attempt. It runs on the checkers'
// workers, several at once; the vectors are safe for that.
func (m *metrics) observeAttempt(a check.Attempt) {
	if !m.served {
		return
	}
	v, ok := m.durations.Load(a.Checker)
	if !ok {
		v, _ = m.durations.LoadOrStore(a.Checker, m.checkDuration.WithLabelValues(a.Checker))
	}
	v.(prometheus.Observer).Observe(a.Duration.Seconds())
	if a.Err != nil {
		// Failures are the exception; their series appears with the
		// first one.
		m.checkFailures.WithLabelValues(a.Checker).Inc()
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		m.emit(ch, d, prometheus.GaugeValue, v, l)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		m.emit(ch, d, prometheus.CounterValue, float64(v), l)
	}
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	gauge(m.buildInfo, 1, version, runtime.Version())
	vl, cl := m.vrrp(), m.checker()
	if v := vl; v != nil {
		where := m.instancePlaces()
		for _, st := range v.Statuses() {
			p := where[st.Name]
			vrid := strconv.Itoa(int(st.VRID))
			for _, s := range []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault, vrrp.StateStop} {
				gauge(m.vrrpState, b(st.State == s), st.Name, vrid, p.iface, p.family, s.String())
			}
			gauge(m.vrrpPriority, float64(st.Priority), st.Name)
			gauge(m.vrrpEffective, float64(st.EffectivePriority), st.Name)
			counter(m.vrrpTransitions, st.Stats.Transitions, st.Name)
			counter(m.advertsSent, st.Stats.AdvertsSent, st.Name)
			counter(m.advertsReceived, st.Stats.AdvertsReceived, st.Name)
			for _, r := range vrrp.DropReasons() {
				counter(m.vrrpDrops, st.Stats.Drops[r], st.Name, r.String())
			}
		}
		drops := v.Drops()
		for _, r := range vrrp.DropReasons() {
			counter(m.socketDrops, drops[r], r.String())
		}
		counter(m.vrrpPanics, v.Panics())
		counter(m.vrrpSocketErrors, v.SocketErrors())
		counter(m.vrrpResubscriptions, v.LinkResubscriptions())
	}
	if h := m.d.hub; h != nil {
		counter(m.scriptsDropped, h.ScriptsDropped())
	}
	if c := cl; c != nil {
		for _, vs := range c.Servers() {
			gauge(m.vsQuorum, b(vs.QuorumUp), vs.Name)
			gauge(m.vsSorry, b(vs.SorryServer), vs.Name)
			if fp, ok := c.OrderFingerprint(vs); ok {
				gauge(m.orderFingerprint, float64(fp), vs.Name)
			}
			for _, rs := range vs.RealServers {
				gauge(m.rsUp, b(rs.Alive), vs.Name, rs.Name)
				gauge(m.rsWeight, float64(rs.Weight), vs.Name, rs.Name)
				gauge(m.rsInPool, b(rs.InPool), vs.Name, rs.Name)
			}
		}
		st := c.TableStats()
		counter(m.ipvsPasses, st.Passes)
		counter(m.ipvsOps, st.Ops)
		counter(m.ipvsErrors, st.Errors)
	}
	if bl := m.d.bgpLoop(); bl != nil {
		peers, anns := bl.Status()
		for _, p := range peers {
			for s := bgp.Idle; s <= bgp.Established; s++ {
				gauge(m.bgpPeerState, b(p.State == s.String()), p.Neighbor, s.String())
			}
		}
		for _, a := range anns {
			gauge(m.bgpAnnounced, b(a.Announced), a.Name, a.Prefix)
		}
	}
	for _, dr := range m.d.drains() {
		switch {
		case dr.RealServer == "":
			gauge(m.drained, 1, "director", "", "")
		case dr.Removed:
			gauge(m.drained, 2, "real_server", dr.VirtualServer, dr.RealServer)
		default:
			gauge(m.drained, 1, "real_server", dr.VirtualServer, dr.RealServer)
		}
	}
	vrrpPanics, checkerPanics := m.d.loopPanics[vrrpKind].Load(), m.d.loopPanics[checkerKind].Load()
	if vl != nil {
		vrrpPanics += vl.Panics()
	}
	if cl != nil {
		checkerPanics += cl.Panics()
	}
	var controlPanics uint64
	if m.d.control != nil {
		controlPanics = m.d.control.Panics()
	}
	counter(m.panicsTotal, vrrpPanics, "vrrp")
	counter(m.panicsTotal, checkerPanics, "checker")
	counter(m.panicsTotal, controlPanics, "control")
	if m.d.bgpLoop() != nil {
		counter(m.panicsTotal, m.d.loopPanics[bgpKind].Load(), "bgp")
	}
	counter(m.panicsTotal, m.panics.Load(), "metrics")
	counter(m.reloads, m.reloadsOK.Load(), "success")
	counter(m.reloads, m.reloadsFailed.Load(), "failure")
	gauge(m.reloadOK, b(!m.reloadFailed.Load()))
}

// reloaded counts a reload, accepted (ok) or refused.
func (m *metrics) reloaded(ok bool) {
	if ok {
		m.reloadsOK.Add(1)
	} else {
		m.reloadsFailed.Add(1)
	}
	m.reloadFailed.Store(!ok)
}

// instancePlace is where a VRRP instance runs: its interface and its
// address family, inet or inet6.
type instancePlace struct{ iface, family string }

// instancePlaces returns the place of each VRRP instance of the running
// configuration, by name. The family is the first virtual address's, as
// the VRRP loop chooses the instance's socket and group, or the first
// unicast peer's when there is no virtual address.
func (m *metrics) instancePlaces() map[string]instancePlace {
	m.d.mu.Lock()
	cfg := m.d.cfg
	m.d.mu.Unlock()
	if cfg == nil {
		return nil
	}
	out := make(map[string]instancePlace, len(cfg.Instances))
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		v6 := false
		switch {
		case len(in.VirtualIPs) > 0:
			v6 = in.VirtualIPs[0].Prefix.Addr().Is6()
		case len(in.UnicastPeers) > 0:
			v6 = in.UnicastPeers[0].Addr.Is6()
		}
		p := instancePlace{iface: in.Interface, family: "inet"}
		if v6 {
			p.family = "inet6"
		}
		out[in.Name] = p
	}
	return out
}

// emit sends one series. keepalived takes any bytes in a name, and a
// label value that is not UTF-8 would fail the whole scrape: such bytes
// become U+FFFD, so that the series is still exported. A series that still
// cannot be built is logged and left out, never a panic in the scrape.
func (m *metrics) emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		if !utf8.ValidString(l) {
			labels[i] = strings.ToValidUTF8(l, "\uFFFD")
		}
	}
	c, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m.d.log.Debugf("metrics: %s %q: %v", d, labels, err)
		return
	}
	ch <- c
}

// contain wraps the /metrics handler so that a panic in it, a bug in a
// collector, is counted and logged with its stack; the connection is then
// dropped, as net/http drops it for http.ErrAbortHandler, without a
// second log of its own.
func (m *metrics) contain(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				m.panics.Add(1)
				m.d.log.Errorf("metrics: recovered from panic: %v\n%s", v, debug.Stack())
				panic(http.ErrAbortHandler)
			}
		}()
		if m.testPanic != nil {
			m.testPanic()
		}
		h.ServeHTTP(w, r)
	})
}

// serverLimits bound what clients of the metrics server can hold: the
// daemon's descriptors are the checks' sockets first.
type serverLimits struct {
	// readHeader and read bound the reading of a request, write the
	// answer, idle a kept-alive connection between requests.
	readHeader, read, write, idle time.Duration
	// conns caps the connections open at once; the next ones wait in
	// the listen backlog.
	conns int
}

// metricsLimits are the metrics server's limits. A scrape reads a few
// hundred bytes and writes the table's series; idle outlasts Prometheus's
// default scrape interval of a minute, so that its connection is kept.
func metricsLimits() serverLimits {
	return serverLimits{
		readHeader: 5 * time.Second,
		read:       10 * time.Second,
		write:      30 * time.Second,
		idle:       65 * time.Second,
		conns:      16,
	}
}

// serve serves /metrics on addr until ctx ends.
func (m *metrics) serve(ctx context.Context, addr string) error {
	mux := m.handler()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return m.serveOn(ctx, ln, mux, metricsLimits())
}

// handler is the metrics server's handler: /metrics.
func (m *metrics) handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, m.checkDuration, m.checkFailures, goCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.contain(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return mux
}

// goCollector is the Go runtime's collector with, beside its defaults, the
// histogram of the stop-the-world pauses of the garbage collector
// (runtime/metrics /sched/pauses/total/gc:seconds, exported as
// go_sched_pauses_total_gc_seconds): the default go_gc_duration_seconds
// summarises only the most recent pauses, and a pause is how long every
// goroutine, the VRRP timers and packet readers among them, stood still.
func goCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/pauses/total/gc:seconds$`)}))
}

// serveOn serves mux on ln until ctx ends, within lim.
func (m *metrics) serveOn(ctx context.Context, ln net.Listener, mux http.Handler, lim serverLimits) error {
	ln = netutil.LimitListener(ln, lim.conns)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
