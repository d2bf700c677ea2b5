package checkers

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A summary as strace 6.1 writes it, cut short.
const straceSample = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 34.79    6.828063        1788      3817       207 futex
  1.89    0.370787          12     30306     15154 connect
  0.63    0.123474           8     15358           socket
  2.10    0.411603          13     30398           close
------ ----------- ----------- --------- --------- ------------------
100.00   19.629119          70     79879     15361 total
`

func TestParseStraceSummary(t *testing.T) {
	got, err := parseStraceSummary(straceSample)
	if err != nil {
		t.Fatal(err)
	}
	want := []syscallCount{{"close", 30398, 0}, {"connect", 30306, 15154}, {"socket", 15358, 0}, {"futex", 3817, 207}}
	if !slices.Equal(got, want) {
		t.Errorf("parseStraceSummary = %v, want %v", got, want)
	}
	text := perCheck(got, 15000)
	for _, w := range []string{"5.33 calls per check in all", "; close 2.027", "; connect 2.020 (1.010 failed)", "; futex 0.254 (0.014 failed)"} {
		if !strings.Contains(text, w) {
			t.Errorf("perCheck = %q, want it to contain %q", text, w)
		}
	}
	if s := perCheck(got, 0); s != "no checks" {
		t.Errorf("perCheck with no checks = %q", s)
	}
	for _, bad := range []string{"", "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n",
		strings.Replace(straceSample, "30306", "many", 1), strings.Replace(straceSample, "15154 connect", "15154 1 2 connect", 1)} {
		if _, err := parseStraceSummary(bad); err == nil {
			t.Errorf("parseStraceSummary(%q) succeeded", bad)
		}
	}
}

func TestStraceDuration(t *testing.T) {
	if d, err := straceDuration(""); d != 0 || err != nil {
		t.Errorf("straceDuration(\"\") = %v, %v", d, err)
	}
	if d, err := straceDuration("10s"); d != 10*time.Second || err != nil {
		t.Errorf("straceDuration(10s) = %v, %v", d, err)
	}
	for _, v := range []string{"10", "-1s", "0s"} {
		if _, err := straceDuration(v); err == nil {
			t.Errorf("straceDuration(%q) succeeded", v)
		}
	}
}
