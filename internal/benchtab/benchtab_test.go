package benchtab

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.tsv")
	t.Setenv(Env, path)
	if err := Append(Row{"parse\tlarge", "204 ms", "404 ms", Ratio(204, 404), "faster: met"}); err != nil {
		t.Fatal(err)
	}
	if err := Append(Row{Measurement: "x", Gokeepalived: "1", Keepalived: "0", Ratio: Ratio(1, 0)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "parse large\t204 ms\t404 ms\t0.50\tfaster: met\nx\t1\t0\t-\t\n"
	if string(b) != want {
		t.Fatalf("table file:\n%q\nwant:\n%q", b, want)
	}
}

func TestAppendWithoutEnv(t *testing.T) {
	t.Setenv(Env, "")
	if err := Append(Row{Measurement: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestLine(t *testing.T) {
	got := Line(Row{"a\tb", "1 ms", "2 ms", "0.50", "faster: met"})
	if want := "benchtab: a b\t1 ms\t2 ms\t0.50\tfaster: met"; got != want {
		t.Fatalf("Line = %q, want %q", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tt.in)
		if got := Median(tt.in); got != tt.want || !slices.Equal(tt.in, in) {
			t.Errorf("Median(%v) = %v, want %v and the slice unchanged", in, got, tt.want)
		}
	}
	if got := Median([]time.Duration{3, 1, 4, 2}); got != 2 {
		t.Errorf("Median of durations 3, 1, 4, 2 = %v, want 2 (integer halves round down)", got)
	}
}
