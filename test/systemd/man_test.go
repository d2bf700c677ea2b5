package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCompatManPage checks the generated gokeepalived-keepalived.conf(5):
// every keyword docs/compatibility.md marks warned or not applicable is on
// the page, the counts add up, and man(1) formats it without a warning.
func TestCompatManPage(t *testing.T) {
	if inGuest() {
		t.Skip("runs on the host")
	}
	requireTools(t, "awk")
	top := root(t)
	out, err := exec.Command("sh", filepath.Join(top, "docs", "man", "compat-man.sh"), top).Output()
	if err != nil {
		t.Fatalf("compat-man.sh: %v", err)
	}
	page := string(out)
	md, err := os.ReadFile(filepath.Join(top, "docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([a-z ]+) \\|")
	count := map[string]int{}
	total := 0
	for _, m := range row.FindAllStringSubmatch(string(md), -1) {
		if m[2] == "extension" {
			// Not keepalived's: the page speaks of keepalived's keywords.
			continue
		}
		total++
		count[m[2]]++
		if m[2] == "implemented" {
			continue
		}
		if want := ".B " + strings.ReplaceAll(m[1], "-", `\-`) + "\n"; !strings.Contains(page, want) {
			t.Errorf("%s keyword %s is not on the page", m[2], m[1])
		}
	}
	if total < 500 || count["warned"] == 0 {
		t.Fatalf("docs/compatibility.md: %d keywords, %d warned: not the table this test reads", total, count["warned"])
	}
	want := "Of the " + strconv.Itoa(total) + " keywords keepalived 2.2.7 accepts, " + strconv.Itoa(count["implemented"]) + " have their"
	if !strings.Contains(page, want) {
		t.Errorf("the page does not say %q", want)
	}
	for _, k := range []string{"@TOTAL@", "@IMPLEMENTED@", "@WARNED@", "@NA@", "@WARNED_LIST@", "@NA_LIST@"} {
		if strings.Contains(page, k) {
			t.Errorf("the page still has %s", k)
		}
	}
	if _, err := exec.LookPath("man"); err != nil {
		return
	}
	for _, p := range []string{filepath.Join(t.TempDir(), "gokeepalived-keepalived.conf.5"), filepath.Join(top, "docs", "man", "gokeepalived.8"), filepath.Join(top, "docs", "man", "gokeepalived-bgp.8")} {
		if strings.HasSuffix(p, ".5") {
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// lintian's check: groff's warnings on stderr.
		var stderr strings.Builder
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", p)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=80")
		cmd.Stderr = &stderr
		if _, err := cmd.Output(); err != nil {
			t.Errorf("man -l %s: %v", filepath.Base(p), err)
		}
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Errorf("man -l %s warns:\n%s", filepath.Base(p), s)
		}
	}
}
