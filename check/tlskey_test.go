package check

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// writeClientKeys writes the client certificate of cert and its key,
// unencrypted and encrypted with password by OpenSSL in each form
// operators meet: PKCS#8 (OpenSSL 3's default) and the traditional one.
func writeClientKeys(t *testing.T, cert tls.Certificate, password string) (certFile string, keys map[string]string) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		nettest.SkipUnlessCI(t, "no openssl to encrypt keys with")
	}
	dir := t.TempDir()
	certFile = filepath.Join(dir, "client.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.key")
	if err := os.WriteFile(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	keys = map[string]string{"plain": plain}
	for name, args := range map[string][]string{
		"pkcs8 aes256":       {"pkey", "-aes256"},
		"pkcs8 aes128 sha1":  {"pkcs8", "-topk8", "-v2", "aes128", "-v2prf", "hmacWithSHA1"},
		"pkcs8 des3":         {"pkcs8", "-topk8", "-v2", "des3"},
		"traditional aes256": {"ec", "-aes256"},
		"traditional des3":   {"ec", "-des3"},
	} {
		out := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".key")
		cmd := append(args, "-in", plain, "-out", out, "-passout", "pass:"+password)
		if args[0] == "pkcs8" {
			cmd = append(cmd, "-passin", "pass:")
		}
		if b, err := exec.Command(openssl, cmd...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", cmd, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want := "Proc-Type: 4,ENCRYPTED"
		if strings.HasPrefix(name, "pkcs8") {
			want = "BEGIN ENCRYPTED PRIVATE KEY"
		}
		if !strings.Contains(string(b), want) {
			t.Fatalf("%s key lacks %q:\n%s", name, want, b)
		}
		keys[name] = out
	}
	return certFile, keys
}

// TestSSLGetPasswordProtectedKey checks SSL { password }: SSL_GET presents
// a client certificate whose key is encrypted, to a server that requires
// one, as keepalived's OpenSSL context does.
func TestSSLGetPasswordProtectedKey(t *testing.T) {
	serverCert, _ := selfSigned(t, "rs.example")
	clientCert, _ := selfSigned(t, "client.example")
	srv := startRawHTTP(t, "tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		// The handshake's CertificateVerify proves the client holds
		// the certificate's key.
		ClientAuth: tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], clientCert.Certificate[0]) {
				return errors.New("not the client certificate")
			}
			return nil
		},
	})
	const password = "s3cret pass"
	certFile, keys := writeClientKeys(t, clientCert, password)
	for name, keyFile := range keys {
		t.Run(name, func(t *testing.T) {
			pw := password
			if name == "plain" {
				pw = ""
			}
			cert, err := LoadKeyPair(certFile, keyFile, pw)
			if err != nil {
				t.Fatal(err)
			}
			c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, Certificates: []tls.Certificate{cert}, URLs: []URL{{Path: "/"}}}
			checkVerdict(t, &c, time.Second, "")
			if name == "plain" {
				return
			}
			if _, err := LoadKeyPair(certFile, keyFile, "wrong"); err == nil {
				t.Error("the key opened with a wrong password")
			}
			if _, err := LoadKeyPair(certFile, keyFile, ""); err == nil || !strings.Contains(err.Error(), "no password") {
				t.Errorf("without password: %v, want %v", err, errNoPassword)
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, URLs: []URL{{Path: "/"}}}
		checkVerdict(t, &c, time.Second, "certificate required")
	})
}
