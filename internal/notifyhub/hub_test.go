package notifyhub

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/config"
)

// TestReload requires a reload to keep the FIFO and mailer whose settings
// stay, and to replace, and remove, those that change.
func TestReload(t *testing.T) {
	log := logrus.New()
	log.Out = io.Discard
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	g := &config.Global{NotifyFIFO: config.FIFO{Path: a}, SMTPServer: "192.0.2.25", NotificationEmail: []string{"ops@example.com"}}
	h, err := New(g, log)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	fifo, mailer := h.Notifier().Global, h.Mailer()
	if fifo == nil || mailer == nil {
		t.Fatalf("FIFO %v, mailer %v; want both", fifo, mailer)
	}

	same := *g
	if err := h.Reload(&same); err != nil {
		t.Fatal(err)
	}
	if h.Notifier().Global != fifo || h.Mailer() != mailer {
		t.Error("an unchanged FIFO or mailer was replaced")
	}

	changed := *g
	changed.NotifyFIFO.Path = b
	changed.NotificationEmail = []string{"other@example.com"}
	if err := h.Reload(&changed); err != nil {
		t.Fatal(err)
	}
	if got := h.Notifier().Global; got == nil || got.Name() != b {
		t.Errorf("FIFO after the reload: %v, want %s", got, b)
	}
	if m := h.Mailer(); m == mailer || m == nil || m.To[0] != "other@example.com" {
		t.Errorf("mailer after the reload: %+v", m)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("the replaced FIFO %s is still there: %v", a, err)
	}
	if err := h.Notifier().Global.WriteLine("x\n"); err != nil {
		t.Errorf("writing to the new FIFO: %v", err)
	}

	none := config.Global{}
	if err := h.Reload(&none); err != nil {
		t.Fatal(err)
	}
	if h.Notifier().Global != nil || h.Mailer() != nil {
		t.Error("FIFO or mailer left after a reload without them")
	}
	if _, err := os.Stat(b); !os.IsNotExist(err) {
		t.Errorf("FIFO %s left after a reload without it: %v", b, err)
	}
}
