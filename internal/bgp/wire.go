package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// The speaker process and the daemon exchange one JSON object a line:
// the daemon sends requests on the process's standard input, each with an
// id; the process answers each on its standard output with the same id
// and an error string, empty on success, and sends, with id 0, the events
// it has to tell: a session's change of state, a log record.

// op is a request's operation: one Speaker method.
type op string

const (
	opStart      op = "start"
	opAddPeer    op = "add_peer"
	opRemovePeer op = "remove_peer"
	opAnnounce   op = "announce"
	opWithdraw   op = "withdraw"
	opPeers      op = "peers"
	opStop       op = "stop"
)

// request is a Speaker method call, with the arguments its op needs.
type request struct {
	ID       uint64        `json:"id"`
	Op       op            `json:"op"`
	Global   *Global       `json:"global,omitempty"`
	Neighbor *Neighbor     `json:"neighbor,omitempty"`
	Addr     netip.Addr    `json:"addr,omitzero"`
	Prefix   netip.Prefix  `json:"prefix,omitzero"`
	Attrs    *Attrs        `json:"attrs,omitempty"`
	Drain    time.Duration `json:"drain,omitempty"`
}

// event is what a message with id 0 tells.
type event string

const (
	eventState event = "state" // a session changed state
	eventLog   event = "log"   // the speaker logged a record
)

// message is an answer, or, with ID 0, an event.
type message struct {
	ID    uint64       `json:"id,omitempty"`
	Error string       `json:"error,omitempty"`
	Peers []PeerStatus `json:"peers,omitempty"`

	Event event       `json:"event,omitempty"`
	Peer  *PeerStatus `json:"peer,omitempty"`
	Level slog.Level  `json:"level,omitempty"`
	Msg   string      `json:"msg,omitempty"`
}

// maxLine bounds a line of the protocol: a request or answer is small,
// a Peers answer a hundred bytes a neighbor.
const maxLine = 1 << 20

// Serve runs the Speaker newSpeaker makes for the requests read from in,
// answering on out, until in ends; then it stops the speaker, without
// drain, if no Stop request came and no neighbor has graceful restart,
// and returns. With graceful restart, an end without Stop is the
// daemon's death: the sessions end with the process, without a
// NOTIFICATION, so that the neighbors keep the routes until the
// restarted daemon's speaker announces them again. newSpeaker gets a logger
// and a state callback whose records and changes go to out as events.
//
// Requests run one at a time, in order, except Peers, which may run
// beside the others so that a status query does not wait for a drain.
func Serve(in io.Reader, out io.Writer, newSpeaker func(log *slog.Logger, onState func(PeerStatus)) Speaker) error {
	w := &writer{enc: json.NewEncoder(out)}
	sp := newSpeaker(slog.New(&eventHandler{w: w}), func(p PeerStatus) {
		w.send(message{Event: eventState, Peer: &p})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg      sync.WaitGroup
		started bool
		stopped bool
		// restarts are the neighbors with graceful restart.
		restarts = make(map[netip.Addr]bool)
	)
	s := bufio.NewScanner(in)
	s.Buffer(make([]byte, 0, 4096), maxLine)
	for s.Scan() {
		var r request
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			w.send(message{Event: eventLog, Level: slog.LevelError, Msg: fmt.Sprintf("bad request %q: %v", s.Bytes(), err)})
			continue
		}
		if r.Op == opPeers {
			wg.Go(func() {
				ps, err := sp.Peers(ctx)
				w.answer(r.ID, err, ps)
			})
			continue
		}
		var err error
		switch r.Op {
		case opStart:
			if r.Global == nil {
				err = errors.New("bgp: start without global")
				break
			}
			if err = sp.Start(ctx, *r.Global); err == nil {
				started = true
			}
		case opAddPeer:
			if r.Neighbor == nil {
				err = errors.New("bgp: add_peer without neighbor")
				break
			}
			if err = sp.AddPeer(ctx, *r.Neighbor); err == nil {
				restarts[r.Neighbor.Addr] = r.Neighbor.RestartTime > 0
			}
		case opRemovePeer:
			err = sp.RemovePeer(ctx, r.Addr)
			delete(restarts, r.Addr)
		case opAnnounce:
			var a Attrs
			if r.Attrs != nil {
				a = *r.Attrs
			}
			err = sp.Announce(ctx, r.Prefix, a)
		case opWithdraw:
			err = sp.Withdraw(ctx, r.Prefix)
		case opStop:
			err = sp.Stop(ctx, r.Drain)
			stopped = true
		default:
			err = fmt.Errorf("bgp: unknown operation %q", r.Op)
		}
		w.answer(r.ID, err, nil)
	}
	var err error
	if started && !stopped && !slices.Contains(slices.Collect(maps.Values(restarts)), true) {
		// The daemon is gone without a word: close the sessions now
		// rather than let the neighbors wait out their hold time.
		err = sp.Stop(ctx, 0)
	}
	cancel()
	wg.Wait()
	if serr := s.Err(); serr != nil {
		return fmt.Errorf("bgp: read requests: %w", serr)
	}
	return err
}

// writer sends messages, one line each, from several goroutines.
type writer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *writer) send(m message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A write error means the daemon is gone; the end of the requests
	// will end Serve.
	w.enc.Encode(m)
}

func (w *writer) answer(id uint64, err error, ps []PeerStatus) {
	m := message{ID: id, Peers: ps}
	if err != nil {
		m.Error = err.Error()
		if m.Error == "" {
			m.Error = "error"
		}
	}
	w.send(m)
}

// eventHandler is a slog.Handler sending each record as a log event,
// its attributes appended to its message.
type eventHandler struct {
	w     *writer
	attrs []slog.Attr
}

func (h *eventHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *eventHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.w.send(message{Event: eventLog, Level: r.Level, Msg: b.String()})
	return nil
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{w: h.w, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

// WithGroup keeps the attributes flat: the records are read by people.
func (h *eventHandler) WithGroup(string) slog.Handler { return h }
