package logging

import (
	"errors"
	"log/syslog"
	"sync"

	"github.com/sirupsen/logrus"
)

// syslogHook sends every entry to syslog with the ident its entry names.
// Like the C library's syslog(3), it connects on first use, and a message
// that finds no syslog daemon is dropped rather than failing the caller:
// a load balancer must not stop because its log daemon did.
type syslogHook struct {
	socket   string // empty for the system's socket
	facility syslog.Priority
	ident    string // when the entry names none

	mu      sync.Mutex
	writers map[string]*syslog.Writer // by ident
}

func newSyslogHook(socket string, facility syslog.Priority, ident string) *syslogHook {
	return &syslogHook{
		socket:   socket,
		facility: facility,
		ident:    ident,
		writers:  make(map[string]*syslog.Writer),
	}
}

// Levels implements logrus.Hook.
func (h *syslogHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (h *syslogHook) Fire(e *logrus.Entry) error {
	ident := h.ident
	if v, ok := e.Data[identField].(string); ok && v != "" {
		ident = v
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	w, err := h.writer(ident)
	if err != nil {
		return nil
	}
	msg := message(e)
	switch e.Level {
	case logrus.PanicLevel:
		err = w.Emerg(msg)
	case logrus.FatalLevel:
		err = w.Crit(msg)
	case logrus.ErrorLevel:
		err = w.Err(msg)
	case logrus.WarnLevel:
		err = w.Warning(msg)
	case logrus.InfoLevel:
		err = w.Info(msg)
	default:
		err = w.Debug(msg)
	}
	if err != nil {
		// The writer has already redialled once; start afresh next time.
		w.Close()
		delete(h.writers, ident)
	}
	return nil
}

func (h *syslogHook) writer(ident string) (*syslog.Writer, error) {
	if w, ok := h.writers[ident]; ok {
		return w, nil
	}
	network := ""
	if h.socket != "" {
		network = "unixgram"
	}
	w, err := syslog.Dial(network, h.socket, h.facility|syslog.LOG_INFO, ident)
	if err != nil {
		return nil, err
	}
	h.writers[ident] = w
	return w, nil
}

// Close closes the connections to syslog.
func (h *syslogHook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for ident, w := range h.writers {
		errs = append(errs, w.Close())
		delete(h.writers, ident)
	}
	return errors.Join(errs...)
}
