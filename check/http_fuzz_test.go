package check

import (
	"bytes"
	"crypto/md5"
	"io"
	"testing"
	"testing/iotest"
)

// chunkReader returns at most n bytes per Read, as a socket delivering a
// response in small segments does.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// FuzzHTTPResponse feeds arbitrary bytes to readResponse, whole and in
// chunks, for each use of the body, and checks its results against what the
// bytes say: the same verdict however the stream is cut, the header up to
// the first blank line, the body after it up to Content-Length and the cap,
// and the digest of that body.
func FuzzHTTPResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), uint8(3), uint16(64))
	f.Add([]byte("HTTP/1.0 404 Not Found\r\n\r\n"), uint8(1), uint16(64))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), uint8(7), uint16(8))
	f.Add([]byte("HTTP/1.1 200 OK\r\ncontent-length:  3 \r\n\r\nabcdef"), uint8(2), uint16(64))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc"), uint8(200), uint16(2))
	f.Add([]byte("HTTP/1.1 -20 OK\r\n\r\n"), uint8(5), uint16(64))
	f.Add([]byte("HTTP/1.1 200 OK\r\n"), uint8(5), uint16(64))
	f.Add([]byte("garbage\r\n\r\n"), uint8(0), uint16(0))
	f.Add([]byte{}, uint8(1), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxBody uint16) {
		limit := int64(maxBody) + 1
		for _, need := range []bodyNeed{bodySkip, bodyDigest, bodyKeep} {
			whole, werr := readResponse(bytes.NewReader(data), need, limit)
			cut, cerr := readResponse(chunkReader{iotest.HalfReader(bytes.NewReader(data)), int(chunk) + 1}, need, limit)
			if (werr == nil) != (cerr == nil) {
				t.Fatalf("need %d: whole read gave %v, chunked gave %v", need, werr, cerr)
			}
			if werr != nil {
				continue
			}
			if whole.status != cut.status || !bytes.Equal(whole.header, cut.header) || whole.digest != cut.digest || !bytes.Equal(whole.body, cut.body) {
				t.Fatalf("need %d: whole read %+v, chunked %+v", need, whole, cut)
			}
			end := bytes.Index(data, []byte("\r\n\r\n"))
			if end < 0 || !bytes.Equal(whole.header, data[:end+4]) {
				t.Fatalf("need %d: header %q, not the bytes up to the first blank line", need, whole.header)
			}
			if whole.status < 0 || whole.status > 999 {
				t.Fatalf("need %d: status %d", need, whole.status)
			}
			if need == bodySkip {
				continue
			}
			body := data[end+4:]
			if n := contentLength(whole.header); n >= 0 && n < int64(len(body)) {
				body = body[:n]
			}
			if int64(len(body)) > limit {
				t.Fatalf("need %d: a body of %d bytes passed the cap of %d", need, len(body), limit)
			}
			if whole.digest != md5.Sum(body) {
				t.Fatalf("need %d: digest %x, want the MD5 of %q", need, whole.digest, body)
			}
			if need == bodyKeep && !bytes.Equal(whole.body, body) {
				t.Fatalf("body %q, want %q", whole.body, body)
			}
		}
	})
}
