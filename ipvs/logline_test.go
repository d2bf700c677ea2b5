package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func TestFailureLine(t *testing.T) {
	web := Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Protocol: TCP, Scheduler: "rr"}
	dns6 := Service{Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Protocol: UDP, Scheduler: "rr"}
	rs := Destination{Addr: netip.MustParseAddrPort("10.0.0.1:8080")}
	for _, tt := range []struct {
		op   Op
		err  error
		want string
	}{
		{Op{Kind: AddService, Service: web}, syscall.EEXIST,
			"IPVS cmd IP_VS_SO_SET_ADD(1154) error: Service already exists(17) (192.0.2.1:tcp:80)"},
		{Op{Kind: AddService, Service: dns6}, syscall.ENOENT,
			"IPVS cmd IP_VS_SO_SET_ADD(1154) error: Scheduler or persistence engine not found(2) (2001:db8::1:udp:53)"},
		{Op{Kind: UpdateService, Service: Service{FWMark: 7, Family: IPv6}}, syscall.ESRCH,
			"IPVS cmd IP_VS_SO_SET_EDIT(1155) error: No such service(3) (Fwm 7 inet6)"},
		{Op{Kind: DeleteService, Service: Service{FWMark: 7}}, syscall.ESRCH,
			"IPVS cmd IP_VS_SO_SET_DEL(1156) error: No such service(3) (Fwm 7)"},
		{Op{Kind: AddDestination, Service: web, Destination: rs}, syscall.ESRCH,
			"IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Service not defined(3) (192.0.2.1:tcp:80 -> 10.0.0.1:8080)"},
		{Op{Kind: UpdateDestination, Service: web, Destination: rs}, syscall.ENOENT,
			"IPVS cmd IP_VS_SO_SET_EDITDEST(1161) error: No such destination(2) (192.0.2.1:tcp:80 -> 10.0.0.1:8080)"},
		{Op{Kind: DeleteDestination, Service: web, Destination: rs}, syscall.EINVAL,
			"IPVS cmd IP_VS_SO_SET_DELDEST(1160) error: Invalid operation.  Possibly wrong module version, address not unicast, ...(22) (192.0.2.1:tcp:80 -> 10.0.0.1:8080)"},
		{Op{Kind: StartSyncDaemon}, syscall.EEXIST,
			"IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: Daemon has already run(17)"},
		{Op{Kind: StopSyncDaemon}, syscall.ESRCH,
			"IPVS cmd IP_VS_SO_SET_STOPDAEMON(1164) error: No daemon is running(3)"},
		{Op{Kind: FlushTable}, syscall.ENODEV,
			"IPVS cmd IP_VS_SO_SET_FLUSH(1157) error: No such device(19)"},
		{Op{Kind: StartSyncDaemon}, errors.ErrUnsupported,
			"IPVS start-sync-daemon failed: unsupported operation"},
	} {
		if got := tt.op.failureLine(tt.err); got != tt.want {
			t.Errorf("%v with %v:\n got %s\nwant %s", tt.op.Kind, tt.err, got, tt.want)
		}
	}
}

func TestReconcilerLogsFailuresAsKeepalived(t *testing.T) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	k := &fakeKernel{fail: map[string]error{"add-destination": syscall.ESRCH}}
	r := NewReconciler(k, ReconcilerConfig{Log: logrus.NewEntry(log)})
	if _, err := r.Reconcile(context.Background(), []Service{web(1)}); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Reconcile error = %v, want ESRCH", err)
	}
	var infos []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.InfoLevel {
			infos = append(infos, e.Message)
		}
	}
	want := "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Service not defined(3) (192.0.2.1:tcp:80 -> 10.0.0.1:80)"
	if len(infos) != 1 || infos[0] != want {
		t.Errorf("info lines = %q, want [%q]", infos, want)
	}
}
