package check

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// genhashBinary finds keepalived's genhash, which the tests compare with.
func genhashBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("genhash")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("genhash not installed:", err)
		}
		t.Skip("genhash not installed:", err)
	}
	return p
}

func runGenhash(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("genhash %v: %v", args, err)
	}
	return string(out)
}

func TestGenhashMatchesKeepalivedGenhash(t *testing.T) {
	bin := genhashBinary(t)
	big := strings.Repeat("0123456789abcdef", 100<<10/16)
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		fmt.Fprint(w, big)
	})
	// Without Content-Length an HTTP/1.1 response is chunked, and both
	// digest the chunk framing as sent.
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s", r.Host)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	port := strconv.Itoa(int(addr.Port()))

	tests := []struct {
		path  string
		opts  GenhashOptions
		extra []string
	}{
		{path: "/small"},
		{path: "/big"},
		{path: "/missing"},
		{path: "/chunked", opts: GenhashOptions{Protocol: HTTP11}, extra: []string{"-P", "1.1"}},
		{path: "/vhost", opts: GenhashOptions{VirtualHost: "www.example.com"}, extra: []string{"-V", "www.example.com"}},
		{path: "/vhost", opts: GenhashOptions{Protocol: HTTP10C}, extra: []string{"-P", "1.0c"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.path, tt.extra), func(t *testing.T) {
			tt.opts.Addr = addr
			want := runGenhash(t, bin, append([]string{"-s", "127.0.0.1", "-p", port, "-u", tt.path}, tt.extra...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := GenhashFetch(ctx, tt.path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteGenhash(&got, r, false); err != nil {
				t.Fatal(err)
			}
			if got.String() != want {
				t.Errorf("output %q, genhash printed %q", got.String(), want)
			}
			d, err := Genhash(ctx, tt.path, tt.opts)
			if err != nil || d+"\n" != want {
				t.Errorf("Genhash = %q, %v; genhash printed %q", d, err, want)
			}
		})
	}
}

func TestWriteGenhashVerboseMatchesKeepalivedGenhash(t *testing.T) {
	bin := genhashBinary(t)
	srv := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
	addr := srv.addr()
	want := runGenhash(t, bin, "-v", "-s", addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port())), "-u", "/index.html")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := GenhashFetch(ctx, "/index.html", GenhashOptions{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := WriteGenhash(&got, r, true); err != nil {
		t.Fatal(err)
	}
	// The last line is the response time, which differs.
	trim := func(s string) (string, string) {
		s = strings.TrimSuffix(s, "\n")
		i := strings.LastIndex(s, "\n")
		return s[:i+1], s[i+1:]
	}
	gotBody, gotLast := trim(got.String())
	wantBody, wantLast := trim(want)
	if gotBody != wantBody {
		t.Errorf("verbose output\n%s\ngenhash printed\n%s", gotBody, wantBody)
	}
	timing := func(s string) string {
		f := strings.Fields(s)
		if len(f) > 2 {
			f[len(f)-2] = "N"
		}
		return strings.Join(f, " ")
	}
	if timing(gotLast) != timing(wantLast) {
		t.Errorf("last line %q, genhash printed %q", gotLast, wantLast)
	}
}
