// Package bgp measures how soon a director's health reaches the router
// when the director announces its VIP over BGP: gokeepalived with its own
// BGP speaker (bgp_speaker, bgp_announce), beside keepalived 2.2.7, which
// has no BGP, with the glue operators run today: notify scripts that
// switch a static route of a BIRD on the director, exported to the
// router. The router runs BIRD 2 with the directors' routes merged into
// one ECMP route in its kernel table, read over netlink.
//
// The test runs only with GOKEEPALIVED_BENCH=1, as root, with BIRD 2:
//
//	sudo GOKEEPALIVED_BENCH=1 go test -count=1 -v -run TestBGPBench ./test/bench/bgp/
//
// GOKEEPALIVED_BENCH_BGP_PAIRS (default 20) sets the pairs of trials.
package bgp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/benchtab"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// Environment of the benchmark.
const (
	benchEnv = "GOKEEPALIVED_BENCH"           // 1 runs it
	binEnv   = "GOKEEPALIVED_BENCH_BIN"       // a prebuilt gokeepalived, gokeepalived-bgp beside it
	pairsEnv = "GOKEEPALIVED_BENCH_BGP_PAIRS" // pairs of trials
)

const (
	defaultPairs = 20
	// lossGoal is the bound on gokeepalived's time from a health loss
	// to the router's route without the director.
	lossGoal = 100 * time.Millisecond
)

// TestBGPBench builds both labs, then runs interleaved pairs of trials,
// one on each, and prints the rows (appended to the project's table too).
func TestBGPBench(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a benchmark of about a minute: set %s=1", benchEnv)
	}
	nettest.RequireRoot(t)
	if _, err := exec.LookPath("bird"); err != nil {
		nettest.SkipUnlessCI(t, "BIRD 2 (bird2) is not installed")
	}
	pairs := defaultPairs
	if s := os.Getenv(pairsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive count", pairsEnv, s)
		}
		pairs = n
	}
	bin := binary(t)
	loadBefore := loadavg()
	began := time.Now()
	labs := map[bool]*lab{true: newLab(t, bin, true), false: newLab(t, bin, false)}
	ps, err := benchtab.Interleave(pairs, func(ours bool, pair int) ([]float64, error) {
		return labs[ours].measure(pair)
	})
	if err != nil {
		t.Fatal(err)
	}
	loss, back := ps[0], ps[1]
	bound := benchtab.Constant(loss.Len(), ms(lossGoal))
	t.Logf("health lost on director 1 to the router's route with 2 next hops of 3:\n%s", loss.PairsText(bound))
	t.Logf("health back on director 1 to the router's route with 3 next hops again (VRRP's Master_Down_Interval at advert_int 0.1 included):\n%s", back.PairsText(nil))
	rows := []benchtab.Row{
		loss.BoundRow("BGP: health lost to the router's next hop gone, gokeepalived's speaker / keepalived notify + birdc (median / max)",
			fmt.Sprintf("at most %.0f ms", ms(lossGoal)), bound),
		{Measurement: "BGP: health back to the router's next hop back, VRRP's 3 x 0.1 s + skew included (median / max)",
			Gokeepalived: benchtab.MedMax(back.G), Keepalived: benchtab.MedMax(back.K), Ratio: back.RatioText(), Goal: "- (reported)"},
	}

	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores; load average before %s, after %s; %v; %d pairs\n\n",
		runtime.NumCPU(), loadBefore, loadavg(), time.Since(began).Round(time.Second), pairs)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tgokeepalived\tkeepalived\tgokeepalived/keepalived per pair\tgoal")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio, r.Goal)
	}
	tw.Flush()
	t.Logf("\n%s", b.String())
	if err := benchtab.Append(rows...); err != nil {
		t.Error(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func name(ours bool) string { return benchtab.Name(ours) }

// binary returns GOKEEPALIVED_BENCH_BIN, or gokeepalived built with
// gokeepalived-bgp beside it, where the daemon looks for its speaker.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(binEnv); p != "" {
		return p
	}
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/",
		"github.com/gokeepalived/gokeepalived/cmd/gokeepalived", "github.com/gokeepalived/gokeepalived/cmd/gokeepalived-bgp").CombinedOutput()
	if err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	return filepath.Join(dir, "gokeepalived")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
