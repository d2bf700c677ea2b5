package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGenhashMatchesKeepalived runs gokeepalived's genhash mode and
// keepalived's genhash on the same URLs and requires the same output.
func TestGenhashMatchesKeepalived(t *testing.T) {
	ref, err := exec.LookPath("genhash")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived's genhash is not installed (CI=true)")
		}
		t.Skip("keepalived's genhash is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<html>%s on %s</html>\n", r.URL.Path, r.Host)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	// A closed port: both report the failure the same way.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := fmt.Sprint(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()

	for _, args := range [][]string{
		{"-s", "127.0.0.1", "-p", port, "-u", "/index.html"},
		{"-s", "127.0.0.1", "-p", port, "-u", "/missing"},
		{"--server", "127.0.0.1", "--port", port, "--url", "/a", "-V", "www.example.com"},
		{"-s", "127.0.0.1", "-p", port, "-u", "/b", "-P", "1.0c"},
		{"-s", "127.0.0.1", "-p", closedPort, "-u", "/"},
		{"-s", "127.0.0.1", "-u", "/"},
		{"-s", "localhost", "-p", port, "-u", "/"},
		{"-s", "127.0.0.1", "-p", port, "-u", "/", "-P", "2.0"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(ref, args...)
			var wantOut, wantErr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &wantOut, &wantErr
			cmd.Run()
			wantRC := cmd.ProcessState.ExitCode()

			var out, errb bytes.Buffer
			rc := run(append([]string{ref, "-T"}, args...), &out, &errb)
			if rc != wantRC || out.String() != wantOut.String() || errb.String() != wantErr.String() {
				t.Errorf("gokeepalived -T: rc %d stdout %q stderr %q\ngenhash:        rc %d stdout %q stderr %q",
					rc, out.String(), errb.String(), wantRC, wantOut.String(), wantErr.String())
			}
		})
	}
}
