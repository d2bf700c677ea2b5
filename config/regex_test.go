package config

import (
	"strings"
	"testing"
)

func TestUnescapeRegex(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        `plain`,
		`\\d+`:         `\d+`,
		`\d+`:          `d+`,
		`<(\\w+)>\\1`:  `<(\w+)>\1`,
		`a\x41\101\tb`: "aAA\tb",
		`\"quoted\"`:   `"quoted"`,
		`cut\0here`:    `cut`,
		`\cA`:          "\x01",
	} {
		got, err := unescape(in)
		if err != nil || got != want {
			t.Errorf("unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := unescape(`end\`); err == nil || err.Error() != `Missing escape char at end: 'end\'` {
		t.Errorf("trailing backslash: %v", err)
	}
}

func regexConf(url string) string {
	return `virtual_server 10.0.0.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
` + url + `
            }
        }
    }
}
`
}

// TestURLRegexDiagnostics checks keepalived's messages about a url's regex
// keywords (check_http.c's handlers and url_check), none of which makes
// keepalived -t fail, and gokeepalived's for regex_options it cannot
// honour.
func TestURLRegexDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name, url, want string
	}{
		{"refused pattern", `regex "a(b"`, "Invalid regex: 'a(b': "},
		{"options without regex", `regex_options caseless`, "regex parameters specified without regex"},
		{"offsets that leave no room", "regex x\nregex_min_offset 10\nregex_max_offset 5", "regex min offset 10 > regex_max_offset 5 - ignoring"},
		{"unknown option", "regex x\nregex_options bogus", "Unknown regex option bogus - ignoring"},
		{"unsupported option", "regex x\nregex_options allow_empty_class", "regex option allow_empty_class: gokeepalived does not implement it - ignoring"},
		{"stack start past max", "regex x\nregex_stack 10 5", "regex stack start cannot exceed max value"},
		{"stack without max", "regex x\nregex_stack 10", "regex_stack requires start and max values"},
		{"too many fields", "regex a b", "regex missing or too many fields"},
		{"lone backslash", `regex a\`, `Missing escape char at end: 'a\'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ds := Parse("k.conf", []byte(regexConf(tc.url)), Options{})
			if ds.HasErrors() {
				t.Fatalf("errors where keepalived -t passes: %v", ds)
			}
			found := false
			for _, d := range ds {
				found = found || strings.Contains(d.Msg, tc.want)
			}
			if !found {
				t.Errorf("diagnostics %v lack %q", ds, tc.want)
			}
			if n := len(cfg.VirtualServers[0].RealServers[0].Checkers[0].HTTP.URLs); n != 1 {
				t.Errorf("%d urls, want the url kept", n)
			}
		})
	}
	_, ds := Parse("k.conf", []byte(regexConf("regex \"<(\\\\w+)>(?=ok)\\\\1\"\nregex_options caseless multiline\nregex_min_offset 2\nregex_max_offset 9\nregex_stack 100 200")), Options{})
	if len(ds) != 0 {
		t.Errorf("a valid regex: %v", ds)
	}
}
