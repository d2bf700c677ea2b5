// Package prometheus checks gokeepalived's metrics with Prometheus's own
// tools: promtool's linter on what the daemon serves, a Prometheus server
// scraping two directors while their VRRP instances change state, and the
// alerting rules of examples/prometheus under promtool's checks and unit
// tests and against the server's live data.
package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/test/vm"
)

// rulesDir holds the alerting rules and their unit tests.
const rulesDir = "../../../examples/prometheus"

var (
	rulesFile     = filepath.Join(rulesDir, "gokeepalived-alerts.yml")
	rulesTestFile = filepath.Join(rulesDir, "gokeepalived-alerts_test.yml")
)

// tool returns the path of a command of Debian's prometheus package, or
// skips t without it (fails it under CI=true).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		nettest.SkipUnlessCI(t, name+" is not installed (Debian's prometheus package; scripts/deps.sh installs it)")
	}
	return p
}

// TestAlertRules runs promtool's check of the alerting rules and their
// unit tests, in which every alert fires in one case and stays quiet in
// another.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", filepath.Base(rulesFile)},
		{"test", "rules", filepath.Base(rulesTestFile)},
	} {
		cmd := exec.Command(promtool, args...)
		// The unit tests name the rules file relative to themselves.
		cmd.Dir = rulesDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
			continue
		}
		t.Logf("promtool %v:\n%s", args, out)
	}
}

// ruleMetric finds the daemon's metric names in a rules file.
var ruleMetric = regexp.MustCompile(`\bgokeepalived_[a-z0-9_]+`)

// ruleMetrics returns the names of the daemon's metrics that the rules'
// expressions use, sorted, without repeats.
func ruleMetrics(t *testing.T) []string {
	t.Helper()
	path := rulesFile
	if vm.InGuest() {
		// TestKernelPrometheus put it beside the test binary.
		path = filepath.Base(rulesFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range regexp.MustCompile(`(?m)^\s*expr:.*$`).FindAll(b, -1) {
		for _, n := range ruleMetric.FindAll(l, -1) {
			names = append(names, string(n))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TestRuleMetricsFound guards what the live tests check: the six alerts'
// expressions read these five metrics and no other of the daemon's.
func TestRuleMetricsFound(t *testing.T) {
	want := []string{
		"gokeepalived_checker_real_server_up",
		"gokeepalived_config_last_reload_successful",
		"gokeepalived_ipvs_virtual_server_quorum_up",
		"gokeepalived_panics_total",
		"gokeepalived_vrrp_state",
	}
	if got := ruleMetrics(t); !slices.Equal(got, want) {
		t.Errorf("metrics in %s: %v, want %v", rulesFile, got, want)
	}
}
