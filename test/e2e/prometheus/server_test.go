package prometheus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// The lab: two directors, lb1 (priority 150) and lb2 (100), share VRID 81
// on one segment, and a monitoring host runs Prometheus.
const (
	vrid        = 81
	vip         = "10.81.0.100"
	metricsPort = "9650"
	// promAddr is where Prometheus listens, on the monitoring host's
	// loopback.
	promAddr = "127.0.0.1:9090"
)

// directorConf is a director's configuration: VRRPv3 adverts every 0.2 s,
// so that a backup stands for master within a second, and a track_file of
// weight 0 that puts the instance in FAULT when dir/fault holds anything
// but 0.
func directorConf(name, dir string, prio int) string {
	return fmt.Sprintf(`global_defs {
    router_id %[1]s
}
track_file fault {
    file "%[2]s/fault"
    weight 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id %[4]d
    priority %[3]d
    advert_int 0.2
    virtual_ipaddress {
        %[5]s/24
    }
    track_file {
        fault
    }
}
`, name, dir, prio, vrid, vip)
}

// A director is gokeepalived running VRRP (-P) in a lab host, serving its
// metrics on the host's address.
type director struct {
	host   *nettest.Host
	d      *nettest.Daemon
	dir    string
	conf   string
	target string // host:port of /metrics, as Prometheus names it
}

func startDirector(t *testing.T, h *nettest.Host, bin, addr string, prio int) *director {
	t.Helper()
	dir := t.TempDir()
	d := &director{host: h, dir: dir, conf: filepath.Join(dir, "keepalived.conf"), target: net.JoinHostPort(addr, metricsPort)}
	write(t, filepath.Join(dir, "fault"), "0\n")
	write(t, d.conf, directorConf(h.Name, dir, prio))
	d.d = h.Start(t, bin, "-P", "-n", "-l", "-G", "-f", d.conf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"),
		"--metrics-listen", d.target)
	return d
}

// scrape returns the director's /metrics, as soon as it serves them.
func (d *director) scrape(t *testing.T) []byte {
	t.Helper()
	var body []byte
	var err error
	if _, ok := nettest.Eventually(10*time.Second, func() bool {
		body, err = get(d.host, d.target, "/metrics")
		return err == nil
	}); !ok {
		t.Fatalf("scraping %s: %v\n%s", d.target, err, d.d.Output())
	}
	return body
}

func write(t *testing.T, path, s string) {
	t.Helper()
	// Written aside and renamed, so that a reader never sees half of it.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// get makes an HTTP GET request to addr from inside h's namespace and
// returns the body of a 200 answer. The connection is made on a thread in
// the namespace, so it is made here rather than by an http.Client, whose
// dials run on goroutines of their own.
func get(h *nettest.Host, addr, path string) ([]byte, error) {
	var body []byte
	err := h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return err
		}
		req.Close = true
		if err := req.Write(c); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if body, err = io.ReadAll(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %.300s", resp.Status, body)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("GET http://%s%s in %s: %w", addr, path, h.NS, err)
	}
	return body, nil
}

// lint runs promtool check metrics on a scrape and fails t with
// promtool's findings unless it exits 0.
func lint(t *testing.T, promtool, what string, scrape []byte) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics on %s: %v\n%s", what, err, out)
		return
	}
	t.Logf("promtool check metrics on %s: exit 0 %s", what, bytes.TrimSpace(out))
}

// metricNames returns the names of the families of a scrape, from its
// TYPE lines, and of every sample; a histogram's series are under their
// family's name.
func metricNames(scrape []byte) map[string]bool {
	names := map[string]bool{}
	for _, l := range strings.Split(string(scrape), "\n") {
		switch {
		case strings.HasPrefix(l, "# TYPE "):
			if f := strings.Fields(l); len(f) >= 3 {
				names[f[2]] = true
			}
		case l != "" && !strings.HasPrefix(l, "#"):
			if i := strings.IndexAny(l, "{ "); i > 0 {
				names[l[:i]] = true
			}
		}
	}
	return names
}

// A promServer is Prometheus running in a lab host, scraping the
// directors every second and evaluating the alerting rules every second.
type promServer struct {
	host *nettest.Host
	d    *nettest.Daemon
}

func startPrometheus(t *testing.T, bin string, h *nettest.Host, rules string, targets ...string) *promServer {
	t.Helper()
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: gokeepalived
    static_configs:
      - targets: [%s]
`, rules, strings.Join(quoted, ", "))
	path := filepath.Join(dir, "prometheus.yml")
	write(t, path, conf)
	p := &promServer{host: h}
	p.d = h.Start(t, bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	t.Cleanup(func() {
		// Start's cleanup kills it; a clean stop first lets its TSDB
		// close, and its output says why if it does not.
		p.d.Signal(syscall.SIGTERM)
		select {
		case <-p.d.Done():
		case <-time.After(5 * time.Second):
		}
	})
	return p
}

// A sample is one series of a query's instant vector.
type sample struct {
	labels map[string]string
	value  string
}

func (s sample) String() string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, s.labels[k])
	}
	return "{" + b.String() + "} " + s.value
}

// query evaluates expr through Prometheus's HTTP API, at the present.
func (p *promServer) query(expr string) ([]sample, error) {
	body, err := get(p.host, promAddr, "/api/v1/query?query="+url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %w: %.300s", expr, err, body)
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: %s %s (%s)", expr, r.Status, r.Error, r.Data.ResultType)
	}
	out := make([]sample, 0, len(r.Data.Result))
	for _, x := range r.Data.Result {
		s := sample{labels: x.Metric}
		if len(x.Value) == 2 {
			s.value, _ = x.Value[1].(string)
		}
		out = append(out, s)
	}
	return out, nil
}

// await polls expr until ok accepts its result and returns how long that
// took; it fails t with the last result after timeout.
func (p *promServer) await(t *testing.T, what, expr string, timeout time.Duration, ok func([]sample) bool) time.Duration {
	t.Helper()
	var (
		last []sample
		err  error
	)
	took, done := nettest.Eventually(timeout, func() bool {
		last, err = p.query(expr)
		return err == nil && ok(last)
	})
	if !done {
		t.Fatalf("%s: not within %v; %s = %v (error %v)\nPrometheus:\n%s", what, timeout, expr, last, err, p.d.Output())
	}
	t.Logf("%s: %v after asking; %s = %v", what, took.Round(10*time.Millisecond), expr, last)
	return took
}

// byInstance says a result has exactly one series per target named in
// want, each with the value it gives.
func byInstance(want map[string]string) func([]sample) bool {
	return func(r []sample) bool {
		if len(r) != len(want) {
			return false
		}
		for _, s := range r {
			if v, ok := want[s.labels["instance"]]; !ok || v != s.value {
				return false
			}
		}
		return true
	}
}

// alerts returns a check that the ALERTS series (pending or firing) are
// exactly those of the named alerts.
func alerts(names ...string) func([]sample) bool {
	return func(r []sample) bool {
		var got []string
		for _, s := range r {
			got = append(got, s.labels["alertname"])
		}
		slices.Sort(got)
		want := slices.Clone(names)
		slices.Sort(want)
		return slices.Equal(got, want)
	}
}

// TestPrometheusScrapesDirectors runs two directors under a real
// Prometheus server that loads the example alerting rules: promtool's
// linter must pass what each serves, Prometheus must see both up with one
// MASTER, and follow them through a split brain (the backup stops
// hearing the adverts: two masters), a FAULT (its tracked file) and a
// refused reload, each time with the alert the rules give for it.
func TestPrometheusScrapesDirectors(t *testing.T) {
	promtool := tool(t, "promtool")
	server := tool(t, "prometheus")
	tool(t, "nft")
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	lab := nettest.NewLab(t)
	lb1 := lab.AddHost("lb1", "10.81.0.1/24")
	lb2 := lab.AddHost("lb2", "10.81.0.2/24")
	mon := lab.AddHost("mon", "10.81.0.9/24")
	bin := nettest.BuildGokeepalived(t)
	begin := time.Now()
	d1 := startDirector(t, lb1, bin, "10.81.0.1", 150)
	d2 := startDirector(t, lb2, bin, "10.81.0.2", 100)

	// promtool's linter on what the daemon serves, and the metrics the
	// rules read: those of the VRRP instances, reloads and panics are
	// there; the checkers' need IPVS, which TestGuestCheckerMetrics has.
	scrape := d1.scrape(t)
	lint(t, promtool, d1.target, scrape)
	names := metricNames(scrape)
	for _, n := range ruleMetrics(t) {
		switch {
		case names[n]:
		case strings.HasPrefix(n, "gokeepalived_checker_") || strings.HasPrefix(n, "gokeepalived_ipvs_"):
			t.Logf("%s: the checkers' (no IPVS here)", n)
		default:
			t.Errorf("the rules use %s, which the daemon does not serve", n)
		}
	}

	p := startPrometheus(t, server, mon, rules, d1.target, d2.target)
	p.await(t, "Prometheus scrapes both directors", `up{job="gokeepalived"}`, 20*time.Second,
		byInstance(map[string]string{d1.target: "1", d2.target: "1"}))
	p.await(t, "lb1 MASTER, lb2 BACKUP", `gokeepalived_vrrp_state{vrid="81",interface="eth0",family="inet"} == 1`, 15*time.Second,
		func(r []sample) bool {
			return byInstance(map[string]string{d1.target: "1", d2.target: "1"})(r) &&
				slices.ContainsFunc(r, func(s sample) bool { return s.labels["instance"] == d1.target && s.labels["state"] == "MASTER" }) &&
				slices.ContainsFunc(r, func(s sample) bool { return s.labels["instance"] == d2.target && s.labels["state"] == "BACKUP" })
		})
	// lint again once lb2 is BACKUP: every series of every state.
	lint(t, promtool, d2.target, d2.scrape(t))
	p.await(t, "no alert", `ALERTS`, 5*time.Second, alerts())

	// Split brain: lb2 drops VRRP, stops hearing lb1 and becomes master
	// too; lb1 stays master over lb2's lower priority.
	split := time.Now()
	lb2.Run("nft", "add", "table", "inet", "gkprom")
	lb2.Run("nft", "add", "chain", "inet", "gkprom", "in", "{ type filter hook input priority 0; }")
	lb2.Run("nft", "add", "rule", "inet", "gkprom", "in", "meta", "l4proto", "112", "drop")
	p.await(t, "two masters for VRID 81", `count by (vrid, interface, family) (gokeepalived_vrrp_state{state="MASTER"} == 1) > 1`, 10*time.Second,
		func(r []sample) bool { return len(r) == 1 && r[0].value == "2" && r[0].labels["vrid"] == "81" })
	// Pending for the rule's 30 s, then firing.
	p.await(t, "the two masters' alert", `ALERTS{alertname="GokeepalivedVRRPMultipleMasters"}`, 5*time.Second,
		func(r []sample) bool {
			return len(r) == 1 && r[0].labels["vrid"] == "81" && r[0].labels["severity"] == "critical"
		})
	t.Logf("split brain to its alert: %v", time.Since(split).Round(10*time.Millisecond))

	// FAULT: lb2's tracked file turns non-zero.
	fault := time.Now()
	write(t, filepath.Join(d2.dir, "fault"), "1\n")
	p.await(t, "lb2 in FAULT", `gokeepalived_vrrp_state{state="FAULT"} == 1`, 10*time.Second,
		byInstance(map[string]string{d2.target: "1"}))
	p.await(t, "the FAULT alert, the two masters' gone", `ALERTS`, 5*time.Second,
		alerts("GokeepalivedVRRPInstanceFault"))
	t.Logf("FAULT to its alert: %v", time.Since(fault).Round(10*time.Millisecond))

	// A refused reload on lb1: a VRID out of range.
	good, err := os.ReadFile(d1.conf)
	if err != nil {
		t.Fatal(err)
	}
	write(t, d1.conf, strings.Replace(string(good), "virtual_router_id 81", "virtual_router_id 300", 1))
	reload := time.Now()
	if err := d1.d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.await(t, "lb1's reload refused", `gokeepalived_config_reloads_total{result="failure"} == 1 and on(instance) gokeepalived_config_last_reload_successful == 0`, 10*time.Second,
		byInstance(map[string]string{d1.target: "1"}))
	p.await(t, "the reload's alert beside the FAULT's", `ALERTS`, 5*time.Second,
		alerts("GokeepalivedVRRPInstanceFault", "GokeepalivedConfigReloadFailed"))
	t.Logf("refused reload to its alert: %v", time.Since(reload).Round(10*time.Millisecond))
	// lb1 kept its configuration and its state.
	p.await(t, "lb1 still MASTER", `gokeepalived_vrrp_state{state="MASTER"} == 1`, 5*time.Second,
		byInstance(map[string]string{d1.target: "1"}))
	t.Logf("whole run, from the directors' start: %v", time.Since(begin).Round(10*time.Millisecond))
}
