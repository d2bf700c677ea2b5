package check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// GenhashOptions are genhash's command line options.
type GenhashOptions struct {
	Addr        netip.AddrPort // -s and -p
	TLS         bool           // -S
	EnableSNI   bool           // -I
	VirtualHost string         // -V
	Protocol    HTTPProtocol   // -P
	FWMark      uint32         // -m
	// MaxBody caps the body read; zero means DefaultMaxBody.
	MaxBody int64
}

// A GenhashResult is one response as genhash sees it.
type GenhashResult struct {
	Path    string
	Header  []byte // status line and headers, with the blank line
	Body    []byte // up to Content-Length, as sent (not de-chunked)
	Digest  [md5.Size]byte
	Elapsed time.Duration
}

// DigestString returns the digest in the hex form that url blocks' digest
// keyword expects.
func (r *GenhashResult) DigestString() string {
	return hex.EncodeToString(r.Digest[:])
}

// Genhash fetches path and returns the digest a url block would need to
// accept the response, as keepalived's genhash prints it. ctx's deadline
// plays genhash's -t.
func Genhash(ctx context.Context, path string, opts GenhashOptions) (digest string, err error) {
	r, err := GenhashFetch(ctx, path, opts)
	if err != nil {
		return "", err
	}
	return r.DigestString(), nil
}

// GenhashFetch fetches path and returns the whole response, for
// WriteGenhash.
func GenhashFetch(ctx context.Context, path string, opts GenhashOptions) (*GenhashResult, error) {
	h := HTTPGet{
		Dialer:      Dialer{Addr: opts.Addr, FWMark: opts.FWMark},
		TLS:         opts.TLS,
		EnableSNI:   opts.EnableSNI,
		VirtualHost: opts.VirtualHost,
		Protocol:    opts.Protocol,
		MaxBody:     opts.MaxBody,
	}
	u := URL{Path: path}
	start := time.Now()
	deadline, _ := ctx.Deadline()
	resp, err := h.fetch(ctx, deadline, &u, bodyKeep)
	if err != nil {
		return nil, fmt.Errorf("genhash %s: %w", path, err)
	}
	return &GenhashResult{
		Path:    path,
		Header:  resp.header,
		Body:    resp.body,
		Digest:  resp.digest,
		Elapsed: time.Since(start),
	}, nil
}

const (
	genhashHeaderHex   = "-----------------------[    HTTP Header Buffer    ]-----------------------\n"
	genhashHeaderASCII = "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\n"
	genhashBodyHex     = "-----------------------[        HTML Buffer        ]-----------------------\n"
	genhashHash        = "-----------------------[    HTML hash resulting    ]-----------------------\n"
	genhashHashFinal   = "-----------------------[ HTML hash final resulting ]-----------------------\n"
)

// WriteGenhash prints r as genhash does: the digest alone, or with verbose
// (-v) the header and body dumps, the digest and the response time.
//
// genhash dumps the body one read at a time, each dump numbered from 0; the
// verbose dump here is of the whole body at once, which is the same output
// whenever the body arrived in one read.
func WriteGenhash(w io.Writer, r *GenhashResult, verbose bool) error {
	ew := &errWriter{w: w}
	if !verbose {
		fmt.Fprintf(ew, "%s\n", r.DigestString())
		return ew.err
	}
	io.WriteString(ew, genhashHeaderHex)
	hexDump(ew, r.Header)
	io.WriteString(ew, genhashHeaderASCII)
	fmt.Fprintf(ew, "%s\n", r.Header)
	if len(r.Body) > 0 {
		io.WriteString(ew, genhashBodyHex)
		hexDump(ew, r.Body)
	}
	io.WriteString(ew, "\n"+genhashHash)
	hexDump(ew, r.Digest[:])
	io.WriteString(ew, genhashHashFinal)
	fmt.Fprintf(ew, "%s\n", r.DigestString())
	fmt.Fprintf(ew, "\nGlobal response time for [%s] = %d usecs\n", r.Path, r.Elapsed.Microseconds())
	return ew.err
}

// hexDump writes b in keepalived's dump_buffer layout: a decimal offset,
// sixteen hex bytes split in two groups of eight, and their printable
// characters.
func hexDump(w io.Writer, b []byte) {
	line := make([]byte, 0, 80)
	for off := 0; off < len(b); off += 16 {
		line = fmt.Appendf(line[:0], "%04d  ", off)
		for j := range 16 {
			if j == 8 {
				line = append(line, "- "...)
			}
			if off+j < len(b) {
				line = fmt.Appendf(line, "%02x ", b[off+j])
			} else {
				line = append(line, "   "...)
			}
		}
		line = append(line, ' ', ' ')
		for j := range 16 {
			c := byte(' ')
			if off+j < len(b) {
				c = b[off+j]
				if c < 0x20 || c > 0x7e {
					c = '.'
				}
			}
			line = append(line, c)
		}
		line = append(line, '\n')
		w.Write(line)
	}
}

// errWriter keeps the first write error so a formatter can write freely and
// check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
