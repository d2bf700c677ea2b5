package config

import (
	"strings"
	"testing"
	"testing/iotest"
)

// TestBlockLines checks that reading a file a block at a time cuts the
// same lines as reading it whole, across block boundaries, with lines
// longer than a block and without a last '\n'.
func TestBlockLines(t *testing.T) {
	long := strings.Repeat("x", 3*readBlock/2)
	var many strings.Builder
	for i := range 20000 {
		many.WriteString(strings.Repeat("w", i%17) + " {\n")
	}
	for _, src := range []string{
		"", "\n", "\n\n", "a", "a\n", "a\nb", "a\r\nb\r\n\n",
		long, long + "\n" + long, "a\n" + long + "\nb\n",
		many.String(), many.String() + "tail",
	} {
		var want []string
		for next := linesOf(src); ; {
			l, ok := next()
			if !ok {
				break
			}
			want = append(want, l)
		}
		for _, r := range []*blockLines{
			{r: strings.NewReader(src)},
			{r: iotest.OneByteReader(strings.NewReader(src))},
			{r: iotest.HalfReader(strings.NewReader(src))},
		} {
			var got []string
			for {
				l, ok := r.next()
				if !ok {
					break
				}
				got = append(got, l)
			}
			if r.err != nil {
				t.Fatalf("%d bytes: %v", len(src), r.err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
				t.Errorf("%d bytes: %d lines, want %d", len(src), len(got), len(want))
			}
		}
	}
	r := &blockLines{r: iotest.ErrReader(iotest.ErrTimeout)}
	if _, ok := r.next(); ok || r.err != iotest.ErrTimeout {
		t.Errorf("a failing read: err %v, want %v", r.err, iotest.ErrTimeout)
	}
}
