package vrrpd_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// strictModeConf has VI_1 in strict mode of its own (strict_mode, no
// vrrp_strict) with PASS authentication and garp_lower_prio_repeat, which
// strict mode clears, and VI_2 beside it, not strict, with the same
// authentication.
const strictModeConf = `vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 150
	advert_int 1
	strict_mode
	authentication {
		auth_type PASS
		auth_pass secret
	}
	garp_lower_prio_repeat 3
	virtual_ipaddress {
		10.66.0.100/24
	}
}
vrrp_instance VI_2 {
	state BACKUP
	interface eth0
	virtual_router_id 52
	priority 150
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass secret
	}
	virtual_ipaddress {
		10.66.0.110/24
	}
}
`

// vridAuth maps each VRID a tcpdump -v capture of adverts shows to the
// authentication its adverts carry.
func vridAuth(out string) map[string]string {
	re := regexp.MustCompile(`vrid ([0-9]+), prio [0-9]+, (authtype [a-z]+)`)
	m := map[string]string{}
	for _, s := range re.FindAllStringSubmatch(out, -1) {
		m[s[1]] = s[2]
	}
	return m
}

// TestStrictModeInstanceEqualsKeepalived runs keepalived, then
// gokeepalived, with one instance in strict mode through strict_mode
// and one not: -t reports the same settings strict mode resets; while
// both are MASTER the firewalls are equal and hold the strict instance's
// VIP only, which does not answer a peer's ping while the other's does;
// and the strict instance's adverts carry no authentication while the
// other's carry their password.
func TestStrictModeInstanceEqualsKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.66.0.1/24")
	peer := lab.AddHost("p", "10.66.0.9/24")
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(strictModeConf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -t's messages, without the file and line gokeepalived adds.
	pos := regexp.MustCompile(`(?m)^[^ ]*keepalived\.conf:[0-9]+: `)
	verdict := map[string][]string{}
	for name, bin := range map[string]string{"keepalived": "keepalived", "gokeepalived": nettest.BuildGokeepalived(t)} {
		out, err := a.Exec(bin, "-t", "-f", path).CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 5 {
			t.Errorf("%s -t: %v, want exit status 5", name, err)
		}
		lines := strings.Split(strings.TrimSpace(pos.ReplaceAllString(string(out), "")), "\n")
		slices.Sort(lines)
		verdict[name] = lines
	}
	if !reflect.DeepEqual(verdict["gokeepalived"], verdict["keepalived"]) {
		t.Errorf("-t says %q, keepalived %q", verdict["gokeepalived"], verdict["keepalived"])
	}
	if !slices.Contains(verdict["keepalived"], "(VI_1) Strict mode does not support authentication. Ignoring.") {
		t.Errorf("keepalived -t says %q: the case does not test what it says", verdict["keepalived"])
	}

	rulesets := map[string][]map[string]any{}
	for _, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			p := d.start(t, a, strictModeConf)
			wait(t, d.name+" masters", 15*time.Second, func() bool {
				return a.HasAddr("10.66.0.100") && a.HasAddr("10.66.0.110")
			})
			rulesets[d.name] = ruleset(t, a)
			if got := vipSet(a); !reflect.DeepEqual(got, []string{"10.66.0.100"}) {
				t.Errorf("vips set %q, want the strict instance's VIP only", got)
			}
			if answers(peer, "10.66.0.100") {
				t.Errorf("the strict instance's VIP answers a ping under %s", d.name)
			}
			if !answers(peer, "10.66.0.110") {
				t.Errorf("the other instance's VIP does not answer a ping under %s", d.name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			out, _ := peer.ExecContext(ctx, "tcpdump", "-l", "-n", "-v", "-i", "eth0", "ip proto 112").Output()
			cancel()
			want := map[string]string{"51": "authtype none", "52": "authtype simple"}
			if got := vridAuth(string(out)); !reflect.DeepEqual(got, want) {
				t.Errorf("adverts under %s carry %v, want %v", d.name, got, want)
			}
			if err := p.Stop(t, 10*time.Second); err != nil {
				t.Errorf("%s exited with %v", d.name, err)
			}
		})
	}
	if ka, ours := rulesets["keepalived"], rulesets["gokeepalived"]; ka == nil || !reflect.DeepEqual(ka, ours) {
		kj, _ := json.MarshalIndent(ka, "", " ")
		oj, _ := json.MarshalIndent(ours, "", " ")
		t.Errorf("rulesets differ\nkeepalived:\n%s\ngokeepalived:\n%s", kj, oj)
	}
}
