package vrrp

import (
	"sync"
	"testing"
	"time"
)

// TestMasterReason follows why an instance became master through
// keepalived's three reasons, and the master heard by a backup.
func TestMasterReason(t *testing.T) {
	i, c, _, _ := newTestInstance(t, baseConfig())
	if st := i.Status(); st.MasterReason != ReasonNotMaster || st.Heard.IsValid() {
		t.Fatalf("at start: reason %v, heard %v; want none", st.MasterReason, st.Heard)
	}
	c.Advance(4 * time.Second) // no master heard
	if st := i.Status(); st.State != StateMaster || st.MasterReason != ReasonMasterNoResponse || st.Heard.IsValid() {
		t.Fatalf("state %v reason %v heard %v, want MASTER for masterNoResponse, none heard", st.State, st.MasterReason, st.Heard)
	}
	// A higher priority takes over; the backup hears it from its next
	// advert on, as keepalived's master address is learnt in BACKUP
	// only. It stops with priority 0.
	i.Receive(advert(t, higher, 200, nil), higher, group4, TTL)
	if st := i.Status(); st.State != StateBackup || st.Heard.IsValid() || st.MasterReason != ReasonMasterNoResponse {
		t.Fatalf("state %v heard %v reason %v, want BACKUP hearing nothing yet, the last reason kept", st.State, st.Heard, st.MasterReason)
	}
	i.Receive(advert(t, higher, 200, nil), higher, group4, TTL)
	if st := i.Status(); st.Heard != higher {
		t.Fatalf("heard %v, want %v", st.Heard, higher)
	}
	i.Receive(advert(t, higher, 0, nil), higher, group4, TTL)
	c.Advance(time.Second)
	if st := i.Status(); st.State != StateMaster || st.MasterReason != ReasonPriority || st.Heard != higher {
		t.Fatalf("state %v reason %v heard %v, want MASTER for priority, %v still heard", st.State, st.MasterReason, st.Heard, higher)
	}
	// Back to backup; a lower priority's adverts are preempted.
	i.Receive(advert(t, higher, 200, nil), higher, group4, TTL)
	feed(i, c, advert(t, lower, 50, nil), lower, time.Second, 5*time.Second)
	if st := i.Status(); st.State != StateMaster || st.MasterReason != ReasonPreempted || st.Heard != lower {
		t.Fatalf("state %v reason %v heard %v, want MASTER for preempted, hearing %v", st.State, st.MasterReason, st.Heard, lower)
	}
}

// TestRejectEvents checks the events of adverts rejected for their
// authentication or a protocol error, and the last protocol error kept.
func TestRejectEvents(t *testing.T) {
	var mu sync.Mutex
	var evs []Transition
	cfg := baseConfig()
	cfg.AuthType, cfg.AuthPass = AuthPass, "secret1"
	cfg.Notify = func(tr Transition) {
		mu.Lock()
		defer mu.Unlock()
		if tr.Event == EventAuthFailure || tr.Event == EventProtoError {
			evs = append(evs, tr)
		}
	}
	i, _, _, _ := newTestInstance(t, cfg)
	withPass := func(p string) func(*Advertisement) {
		return func(a *Advertisement) { a.AuthType = AuthPass; a.AuthData = pass(p) }
	}
	i.Receive(advert(t, higher, 200, withPass("secret2")), higher, group4, TTL)
	i.Receive(advert(t, higher, 200, nil), higher, group4, TTL)
	i.Receive(advert(t, higher, 200, withPass("secret1")), higher, group4, 64)
	i.Receive(advert(t, higher, 200, func(a *Advertisement) { a.Version = 3 }), higher, group4, TTL)
	mu.Lock()
	defer mu.Unlock()
	want := []Transition{
		{Event: EventAuthFailure, Source: higher, Auth: AuthFailed},
		{Event: EventAuthFailure, Source: higher, Auth: AuthTypeMismatch},
		{Event: EventProtoError, ProtoErr: ProtoTTL},
		{Event: EventProtoError, ProtoErr: ProtoVersion},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	for k, w := range want {
		e := evs[k]
		if e.Event != w.Event || e.Source != w.Source || e.Auth != w.Auth || e.ProtoErr != w.ProtoErr || e.Instance != "VI_1" {
			t.Errorf("event %d: %+v, want %+v", k, e, w)
		}
	}
	if got := i.Status().ProtoErr; got != ProtoVersion {
		t.Errorf("last protocol error %v, want %v", got, ProtoVersion)
	}
}
