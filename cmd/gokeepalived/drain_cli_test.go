package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
)

// TestRunDrain maps the drain command lines to the control socket's
// commands, and refuses malformed ones before connecting.
func TestRunDrain(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	got := make(chan control.Command, 1)
	srv := &control.Server{Path: sock, Status: func() control.Status { return control.Status{} },
		Command: func(c control.Command) error { got <- c; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the control socket", 5*time.Second, func() bool { _, err := control.Query(sock); return err == nil })

	for _, tc := range []struct {
		undrain bool
		args    []string
		want    control.Command
		err     string
	}{
		{args: []string{"real-server", "10.0.0.1:80", "10.0.1.1:80", "--timeout", "30s"},
			want: control.Command{Op: control.OpDrainRealServer, VirtualServer: "10.0.0.1:80", RealServer: "10.0.1.1:80", Timeout: 30 * time.Second}},
		{args: []string{"--timeout=5s", "director"}, want: control.Command{Op: control.OpDrainDirector, Timeout: 5 * time.Second}},
		{undrain: true, args: []string{"real-server", "fwmark:7", "10.0.1.1"},
			want: control.Command{Op: control.OpUndrainRealServer, VirtualServer: "fwmark:7", RealServer: "10.0.1.1"}},
		{undrain: true, args: []string{"director"}, want: control.Command{Op: control.OpUndrainDirector}},
		{args: []string{"real-server", "10.0.0.1:80"}, err: "usage: real-server"},
		{args: []string{"director", "--timeout", "0s"}, err: `bad timeout "0s"`},
		{args: []string{"director", "--timeout", "soon"}, err: "invalid duration"},
		{undrain: true, args: []string{"director", "--timeout", "1s"}, err: "timeout"},
		{args: []string{"everything"}, err: "usage: real-server"},
	} {
		var stdout, stderr bytes.Buffer
		code := runDrain(tc.undrain, append(tc.args, "--control-socket", sock), &stdout, &stderr)
		if tc.err != "" {
			if code != exitProgramError || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("%v: exit %d, %q; want an error with %q", tc.args, code, stderr.String(), tc.err)
			}
			select {
			case c := <-got:
				t.Errorf("%v: sent %+v", tc.args, c)
			default:
			}
			continue
		}
		if code != exitOK {
			t.Errorf("%v: exit %d, %s", tc.args, code, stderr.String())
			continue
		}
		if c := <-got; c != tc.want {
			t.Errorf("%v: sent %+v, want %+v", tc.args, c, tc.want)
		}
	}
	var stderr bytes.Buffer
	if code := runDrain(false, []string{"director", "--control-socket", filepath.Join(t.TempDir(), "none")}, &bytes.Buffer{}, &stderr); code != exitProgramError ||
		!strings.Contains(stderr.String(), "connecting to the daemon") {
		t.Errorf("without a daemon: exit %d, %q", code, stderr.String())
	}
}
