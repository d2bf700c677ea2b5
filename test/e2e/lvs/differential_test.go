package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The configurations' delay_loop. A table is converged once it has held
// for two of them and a margin for the guest's slowness under TCG.
const (
	delayLoop   = time.Second
	stableFor   = 2*delayLoop + 300*time.Millisecond
	convergeMax = 20 * time.Second
)

// An outcome is what one daemon did with one configuration.
type outcome struct {
	table      []string // converged ipvsadm -Sn
	thresholds []string // ipvsadm -Ln --thresholds, when the configuration sets any
	marks      []string // script marks while running
	marksAfter []string // script marks after SIGTERM
}

// TestGuestDifferential runs keepalived and gokeepalived side by side on
// every configuration of the corpus: both must converge to the same table
// and leave it empty when they stop. The corpus covers the port rules of
// every forwarding method, sorry servers and groups, and services with a
// persistence_engine (27-persistence-engine.conf).
func TestGuestDifferential(t *testing.T) {
	requireGuest(t)
	confs, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(confs) < 30 {
		t.Fatalf("the corpus has %d configurations, want at least 30", len(confs))
	}
	labs := []*lab{newLab(t, keepalived), newLab(t, gokeepalived)}
	ran, identical := 0, 0
	for _, conf := range confs {
		// t.Run reports success for the subtests -test.run leaves out.
		started := false
		ok := t.Run(strings.TrimSuffix(filepath.Base(conf), ".conf"), func(t *testing.T) {
			started = true
			differential(t, labs, conf)
		})
		if started {
			ran++
			if ok {
				identical++
			}
		}
	}
	t.Logf("differential: %d configs, %d identical", ran, identical)
}

func differential(t *testing.T, labs []*lab, conf string) {
	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var ds []*daemon
	for i, kind := range daemons() {
		ds = append(ds, startDaemon(t, labs[i], kind, conf))
	}
	out := make([]outcome, len(ds))
	for i, table := range converge(t, ds...) {
		out[i].table = table
	}
	for i, d := range ds {
		if strings.Contains(string(text), "threshold") {
			out[i].thresholds = d.lab.thresholds(t)
		}
		out[i].marks = d.scriptMarks(t)
	}
	stop(t, ds...)
	// omega's scripts run as the daemon stops and may outlive it.
	time.Sleep(300 * time.Millisecond)
	for i, d := range ds {
		out[i].marksAfter = d.scriptMarks(t)
	}

	ka, ours := out[0], out[1]
	same := true
	compare := func(what string, theirs, ours []string) {
		if slices.Equal(theirs, ours) {
			return
		}
		same = false
		onlyKA, onlyOurs := diffLines(theirs, ours)
		t.Errorf("%s differ\nonly keepalived:\n  %s\nonly gokeepalived:\n  %s\nkeepalived:\n  %s",
			what, strings.Join(onlyKA, "\n  "), strings.Join(onlyOurs, "\n  "), strings.Join(theirs, "\n  "))
	}
	compare("ipvsadm -Sn", ka.table, ours.table)
	compare("ipvsadm -Ln --thresholds", ka.thresholds, ours.thresholds)
	compare("script marks while running", ka.marks, ours.marks)
	compare("script marks after SIGTERM", ka.marksAfter, ours.marksAfter)
	if same {
		t.Logf("identical: %d table lines, script marks %v, after SIGTERM %v", len(ours.table), ours.marks, ours.marksAfter)
	}
}
