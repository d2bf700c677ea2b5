// Package benchtab collects the rows of the project's one benchmark table.
//
// Each benchmark measures gokeepalived and keepalived in the same run and
// appends its rows to the file named by the BENCH_TABLE environment
// variable; scripts/bench.sh prints the file as one table at the end of
// `make bench`. Without BENCH_TABLE, Append does nothing, so benchmarks run
// alone still print only their own reports.
package benchtab

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Env names the file rows are appended to.
const Env = "BENCH_TABLE"

// A Row is one measurement of both implementations.
type Row struct {
	// Measurement says what was measured, including the unit when the
	// figures are bare numbers.
	Measurement string
	// Gokeepalived and Keepalived are the figures as printed.
	Gokeepalived, Keepalived string
	// Ratio is gokeepalived's figure over keepalived's as text,
	// such as "1.02"; "-" when the figures do not divide.
	Ratio string
	// Goal states the goal and whether this run met it.
	Goal string
}

// Median returns the median of xs, which must not be empty: the mean of
// the middle two for an even count. xs is left as it was.
func Median[T ~int64 | ~float64](xs []T) T {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}

// Ratio formats a/b to two decimals, or "-" when b is zero.
func Ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// Append adds rows to the table file named by BENCH_TABLE, if any.
func Append(rows ...Row) error {
	path := os.Getenv(Env)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening benchmark table %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	for _, r := range rows {
		fmt.Fprintln(w, strings.TrimPrefix(Line(r), Prefix))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing benchmark table %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing benchmark table %s: %w", path, err)
	}
	return nil
}

// Prefix marks a row printed to a log rather than appended to the file,
// for benchmarks that run where BENCH_TABLE cannot reach (the qemu guest):
// scripts/bench.sh collects such lines from their logs.
const Prefix = "benchtab: "

// Line formats r as one line of a log, Prefix first.
func Line(r Row) string {
	fields := []string{r.Measurement, r.Gokeepalived, r.Keepalived, r.Ratio, r.Goal}
	for i, s := range fields {
		fields[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
	}
	return Prefix + strings.Join(fields, "\t")
}
