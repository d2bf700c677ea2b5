package control

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzRequest feeds the control socket's request reader and answer with
// any bytes a client may send: neither may panic, a request is one
// trimmed line within the limit, however the bytes arrive, and every
// answer is one line of JSON.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{"status\n", "status", " status \r\n", "", "\n", "stat\x00us\n", "\xff\xfe\n",
		strings.Repeat("a", maxRequest-1) + "\n", strings.Repeat("a", maxRequest) + "\n", "status\nstatus\n",
		"drain real-server 10.0.0.1:80 10.0.1.1:80 5s\n", "undrain director\n", "drain director -1s\n", "drain real-server a\n"} {
		f.Add([]byte(s))
	}
	want := Status{Version: "1", ConfigFile: "/etc/keepalived/keepalived.conf"}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := readRequest(bytes.NewReader(b))
		req1, err1 := readRequest(iotest.OneByteReader(bytes.NewReader(b)))
		if req != req1 || (err == nil) != (err1 == nil) {
			t.Fatalf("read whole %q, %v; byte by byte %q, %v", req, err, req1, err1)
		}
		if err == nil {
			if len(req) > maxRequest || strings.Contains(req, "\n") || req != strings.TrimSpace(req) {
				t.Fatalf("request %q from %q", req, b)
			}
		}
		var ran []Command
		a := answer(req, err, func() Status { return want }, func(c Command) error { ran = append(ran, c); return nil })
		if err == nil && len(ran) == 1 {
			// A command carried out is one the parser gives back.
			if c, perr := ParseCommand(ran[0].String()); perr != nil || c != ran[0] {
				t.Fatalf("command %+v from %q reparsed as %+v, %v", ran[0], req, c, perr)
			}
			if string(a) != "{\"ok\":true}\n" {
				t.Fatalf("command %q answered %q", req, a)
			}
			return
		}
		if !bytes.HasSuffix(a, []byte("\n")) || bytes.Count(a, []byte("\n")) != 1 || !json.Valid(a) {
			t.Fatalf("answer to %q is not one line of JSON: %q", b, a)
		}
		if err == nil && req == "status" {
			var got Status
			if err := json.Unmarshal(a, &got); err != nil || got.Version != want.Version || got.ConfigFile != want.ConfigFile {
				t.Fatalf("status answered %q", a)
			}
			return
		}
		var e struct{ Error string }
		if err := json.Unmarshal(a, &e); err != nil || e.Error == "" {
			t.Fatalf("answer to %q is no error: %q", b, a)
		}
	})
}
