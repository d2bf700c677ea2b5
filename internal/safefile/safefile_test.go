package safefile

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

const nobody = 65534

// plant puts at name what an unprivileged user could: a symlink to a file
// of theirs, or a world-writable file of their own. It returns the path
// whose content must stay "theirs".
func plant(t *testing.T, name, kind string) string {
	t.Helper()
	dir := filepath.Dir(name)
	switch kind {
	case "symlink":
		target := filepath.Join(dir, "target")
		if err := os.WriteFile(target, []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
		return target
	case "foreign":
		if err := os.WriteFile(name, []byte("theirs"), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, 0o666); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(name, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		return ""
	}
	return ""
}

// CheckOurs fails t unless name is a regular file of mode, owned by us,
// holding want.
func checkOurs(t *testing.T, name string, mode os.FileMode, want string) {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
		t.Errorf("%s is %v, want a regular file %v", name, fi.Mode(), mode)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("%s is owned by %d, want %d", name, uid, os.Geteuid())
	}
	b, _ := os.ReadFile(name)
	if string(b) != want {
		t.Errorf("%s holds %q, want %q", name, b, want)
	}
}

func TestWriteFileNeverWritesThroughAPlant(t *testing.T) {
	for _, kind := range []string{"symlink", "foreign", "none"} {
		t.Run(kind, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "keepalived.data")
			target := plant(t, name, kind)
			err := WriteFile(name, Mode(DefaultUmask), func(w io.Writer) error {
				_, err := io.WriteString(w, "ours")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			checkOurs(t, name, 0o600, "ours")
			if target != "" {
				if b, _ := os.ReadFile(target); string(b) != "theirs" {
					t.Errorf("symlink target now holds %q", b)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(filepath.Dir(name), ".keepalived.data.*")); len(m) != 0 {
				t.Errorf("temporary files left: %v", m)
			}
		})
	}
}

func TestWriteFileKeepsTheOldFileOnError(t *testing.T) {
	name := filepath.Join(t.TempDir(), "keepalived.stats")
	if err := os.WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(name, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return io.ErrUnexpectedEOF
	})
	if err == nil {
		t.Fatal("WriteFile succeeded with a failing writer")
	}
	checkOurs(t, name, 0o600, "old")
}

func TestOpenAppend(t *testing.T) {
	for _, tc := range []struct{ kind, want string }{
		{"symlink", "ours"},
		{"foreign", "ours"},
		{"none", "ours"},
		{"own", "mineours"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "keepalived.log")
			target := plant(t, name, tc.kind)
			if tc.kind == "own" {
				if err := os.WriteFile(name, []byte("mine"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := OpenAppend(name, Mode(DefaultUmask))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(f, "ours"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			checkOurs(t, name, 0o600, tc.want)
			if target != "" {
				if b, _ := os.ReadFile(target); string(b) != "theirs" {
					t.Errorf("symlink target now holds %q", b)
				}
			}
		})
	}
}

func TestMode(t *testing.T) {
	for umask, want := range map[int]os.FileMode{0o177: 0o600, 0o022: 0o644, 0: 0o666, 0o077: 0o600} {
		if got := Mode(umask); got != want {
			t.Errorf("Mode(%#o) = %v, want %v", umask, got, want)
		}
	}
}
