package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// A State is the state of a VRRP instance, as keepalived names it.
type State int

// States. Init and Stop are keepalived's: before start-up and after
// shutdown, when the instance neither sends nor listens.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	case StateStop:
		return "STOP"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Defaults of keepalived for settings whose zero value means something
// else (none) in Config.
const (
	DefaultInterval         = time.Second
	DefaultDownTimerAdverts = 3
	DefaultGarpMasterRepeat = 5
	DefaultGarpMasterDelay  = 5 * time.Second
)

// A Clock tells the time and runs functions later. Instances take one so
// that tests drive time themselves.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a function scheduled by a Clock.
type Timer interface {
	// Stop prevents the function from running, if it has not yet.
	Stop() bool
	// Reset schedules the function to run after d instead, or again
	// if it has already run.
	Reset(d time.Duration) bool
}

// SystemClock returns the clock of the time package.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// A Network is what an instance does to the world: send advertisements
// and own or release its virtual addresses. Each instance has its own.
type Network interface {
	// Advertise sends a to the multicast group or to every unicast peer.
	Advertise(a *Advertisement) error
	// AddAddresses adds the virtual addresses to their interfaces.
	AddAddresses() error
	// RemoveAddresses removes them, whether or not they are present.
	RemoveAddresses() error
	// Announce sends rounds of gratuitous ARP (IPv4) or unsolicited
	// neighbour advertisements (IPv6) for every virtual address.
	Announce(rounds int) error
}

// Config is a vrrp_instance. Zero values of Interval and
// DownTimerAdverts take keepalived's defaults; the other zero values mean
// none.
type Config struct {
	Name     string // the vrrp_instance name, used in logs and transitions
	VRID     uint8  // virtual_router_id, 1-255
	Priority uint8  // priority, 1-255 (255: address owner)

	// Version is 2 or 3; zero means 2 for IPv4 addresses, 3 for IPv6.
	Version  int
	Interval time.Duration // advert_int

	// Addresses are the virtual_ipaddress entries as advertised.
	Addresses []netip.Addr

	// Primary is the source address of the instance's adverts: the
	// interface's primary address or mcast_src_ip/unicast_src_ip. It
	// breaks ties between equal priorities.
	Primary netip.Addr

	AuthType AuthType // version 2 only
	AuthPass string   // auth_pass, at most 8 bytes: the password, or AH's key

	Nopreempt        bool          // nopreempt
	PreemptDelay     time.Duration // preempt_delay
	SkipCheckAdvAddr bool          // skip_check_adv_addr
	DownTimerAdverts int           // down_timer_adverts

	// Unicast is set when the instance has unicast peers: keepalived
	// then does not require a TTL of 255, since a routed peer is allowed.
	Unicast bool
	// Peers are the unicast_peer addresses. With CheckUnicastSrc
	// (check_unicast_src, or vrrp_check_unicast_src in global_defs),
	// adverts from any other address are dropped.
	Peers           []netip.Addr
	CheckUnicastSrc bool
	// PeerTTL bounds the TTL (hop limit) of the adverts of a unicast peer
	// (unicast_peer's min_ttl and max_ttl), checked with
	// CheckUnicastSrc; a peer absent from it may send any.
	PeerTTL map[netip.Addr]TTLRange

	// StartAfter (vrrp_startup_delay) holds a backup's down timer until
	// then: no instance stands for master before it.
	StartAfter time.Time

	LowerPrioNoAdvert bool // lower_prio_no_advert
	// NotifyPriorityChanges reports each change of the effective
	// priority as EventPriorityChanged (notify_priority_changes).
	NotifyPriorityChanges bool
	HigherPrioSendAdvert  bool // higher_prio_send_advert

	GarpMasterRepeat        int           // garp_master_repeat
	GarpMasterDelay         time.Duration // garp_master_delay
	GarpMasterRefresh       time.Duration // garp_master_refresh
	GarpMasterRefreshRepeat int           // garp_master_refresh_repeat
	GarpLowerPrioRepeat     int           // garp_lower_prio_repeat
	GarpLowerPrioDelay      time.Duration // garp_lower_prio_delay
	// GarpExtraIf (garp_extra_if, vrrp_garp_extra_if) is how often a
	// master announces again its VIPs on other interfaces than its own,
	// checked at each advert, if its Network can (AnnounceExtra).
	GarpExtraIf time.Duration

	// KeepAddressesOnStop leaves a master's virtual addresses and routes
	// in place when it stops (keepalived's --dont-release-vrrp); it
	// still sends priority 0.
	KeepAddressesOnStop bool

	// Notify, when set, is called on every state change, in order, with
	// the instance locked: it must not block or call the Instance or its
	// Router.
	Notify func(Transition)
}

// A Transition is a change of state, or an event in a state, for notify
// scripts and FIFOs.
type Transition struct {
	// Instance is the instance's name, or the sync group's when Group
	// is set.
	Instance string
	Group    bool
	VRID     uint8
	From, To State
	Priority uint8 // effective priority when the state changed
	Time     time.Time
	// Event, when not EventNone, is what happened in state To, which
	// did not change (From is To).
	Event Event
	// Source and Auth are, for EventAuthFailure, the advert's source
	// and what failed.
	Source netip.Addr
	Auth   AuthFailure
	// ProtoErr is, for EventProtoError, the error found.
	ProtoErr ProtoError
}

// An Event is something keepalived reports to the notify FIFOs and
// scripts without a change of state.
type Event uint8

// Events.
const (
	EventNone Event = iota
	// EventMasterRxLowerPri: a master received an advertisement of a
	// lower priority (notify_master_rx_lower_pri), as when another
	// router believes itself master.
	EventMasterRxLowerPri
	// EventPriorityChanged: the effective priority changed
	// (notify_priority_changes); Transition.Priority is the new one.
	EventPriorityChanged
	// EventAuthFailure: an advert failed authentication, which RFC
	// 2787's vrrpTrapAuthFailure reports; no script hears of it.
	EventAuthFailure
	// EventProtoError: an advert had a protocol error, which RFC 6527's
	// vrrpv3ProtoError reports; no script hears of it.
	EventProtoError
)

// A TTLRange is the TTLs accepted from a unicast peer, both included.
type TTLRange struct{ Min, Max int }

// Stats are an instance's counters since it was created.
type Stats struct {
	AdvertsSent          uint64
	AdvertsReceived      uint64 // valid adverts, as keepalived counts them
	PriorityZeroSent     uint64
	PriorityZeroReceived uint64
	// Panics counts the panics contained in the instance's timers; see
	// Router.Panics.
	Panics         uint64
	BecameMaster   uint64
	ReleasedMaster uint64
	Transitions    uint64
	Drops          map[DropReason]uint64
}

// Status is a snapshot of an instance. DownInterval is the current
// Master_Down_Interval, the one a backup's down timer runs for:
// down_timer_adverts times MasterInterval plus the skew time of the
// effective priority.
type Status struct {
	Name              string
	VRID              uint8
	State             State
	Priority          uint8      // configured
	EffectivePriority uint8      // after tracking adjustments
	Master            netip.Addr // the current master's address, if known
	MasterPriority    uint8      // the current master's priority
	// AdvertPriority is the priority of the last master's advert this
	// instance accepted, its own adverts aside: keepalived's
	// master_priority, which stays 0 on a router that has only been
	// master.
	AdvertPriority uint8
	// Heard is the source of the last advert that a backup took as the
	// master's, or that it preempted: keepalived's master_saddr, which
	// a master's own address never replaces.
	Heard netip.Addr
	// MasterReason is why the instance last became master; it stays
	// after it leaves MASTER.
	MasterReason MasterReason
	// ProtoErr is the last protocol error found in an advert.
	ProtoErr       ProtoError
	MasterInterval time.Duration // the master's advert interval (learnt in v3)
	DownInterval   time.Duration // Master_Down_Interval, as the down timer uses it
	LastTransition time.Time
	Stats          Stats
}

// An Instance is one VRRP router for one virtual router: the state
// machine of RFC 3768 section 6.4 and RFC 5798 section 6.4 as keepalived
// runs it. Its methods are safe for concurrent use.
type Instance struct {
	cfg       Config
	net       Network
	clock     Clock
	log       logrus.FieldLogger
	authData  [authDataLen]byte
	guard     *guard
	timerWhat string // names the instance's timers in the guard's logs
	// ahSeq is the AH sequence number: the last one accepted from the
	// master, and counted on from there while master, as keepalived
	// keeps one counter for both, so that a new master's numbers go on
	// rising.
	ahSeq uint32

	// mu is shared by the members of a sync group, which change state
	// together; it is replaced when the group is re-formed, so it is
	// taken with lock.
	mu         atomic.Pointer[sync.Mutex]
	group      *SyncGroup
	faulted    bool // FAULT of its own, not by its group
	wantMaster bool // down timer expired, waiting for its group
	state      State
	basePrio   uint8 // configured, unless lowered by an owner conflict
	offset     int   // the trackers' total weight
	drained    bool  // an operator's drain holds the priority at 1
	effPrio    uint8
	masterAddr netip.Addr
	masterPrio uint8
	advertPrio uint8 // in the last master's advert accepted
	heard      netip.Addr
	heardAt    time.Time // when a backup last accepted its master's advert
	// bfdGone is the master whose BFD Down armed a takeover still to
	// come (MasterGone), until an advert from it or the takeover.
	bfdGone netip.Addr
	// held: a track script of weight 0 has no result yet, keepalived's
	// num_script_init; quiet: in FAULT, entered without a notification.
	held, quiet bool

	// nextReason is why the instance becomes master if it does next:
	// set by what a backup last heard, as keepalived sets it.
	nextReason     MasterReason
	masterReason   MasterReason
	protoErr       ProtoError
	masterInt      time.Duration
	faultAtStart   bool
	preemptAt      time.Time // zero: no preempt delay running
	refreshAt      time.Time
	extraAt        time.Time // next garp_extra_if announcement
	lastTransition time.Time
	stats          Stats
	logged         [numDropReasons]bool
	// rx is the advert being checked, kept to reuse its address slice.
	rx Advertisement

	// timer is the instance's one timer, the down timer in BACKUP and
	// the advert timer in MASTER; it is created once and reset after
	// every advert. deadline is when it is due, and armed whether it is
	// set: Stop or Reset cannot recall a function already started, so
	// the function checks both. term does the same for the delayed
	// gratuitous ARPs of one term as master.
	timer     Timer
	deadline  time.Time
	armed     bool
	term      uint64
	garpTimer Timer
}

// NewInstance checks cfg and returns an instance in the INIT state; Start
// sets it going.
func NewInstance(cfg Config, network Network, clock Clock, log logrus.FieldLogger) (*Instance, error) {
	if err := cfg.normalize(log); err != nil {
		return nil, err
	}
	i := &Instance{
		cfg:       cfg,
		net:       network,
		clock:     clock,
		log:       log,
		basePrio:  cfg.Priority,
		effPrio:   cfg.Priority,
		masterInt: cfg.Interval,
		stats:     Stats{Drops: make(map[DropReason]uint64)},
		guard:     &guard{log: log},
		timerWhat: "(" + cfg.Name + ") timer",
	}
	i.mu.Store(new(sync.Mutex))
	if cfg.AuthType == AuthPass {
		copy(i.authData[:], cfg.AuthPass)
	}
	return i, nil
}

// lock takes the instance's lock, which is its sync group's: a group
// re-formed while lock waited has given the instance another.
func (i *Instance) lock() {
	for {
		mu := i.mu.Load()
		mu.Lock()
		if i.mu.Load() == mu {
			return
		}
		mu.Unlock()
	}
}

// unlock releases the lock taken by lock; nobody replaces the lock while
// it is held.
func (i *Instance) unlock() { i.mu.Load().Unlock() }

// normalize checks cfg and fills in keepalived's defaults.
func (cfg *Config) normalize(log logrus.FieldLogger) error {
	if cfg.VRID == 0 {
		return fmt.Errorf("vrrp instance %s: the virtual id must be set", cfg.Name)
	}
	if cfg.Priority == 0 {
		return fmt.Errorf("vrrp instance %s: priority must be 1-255", cfg.Name)
	}
	if !cfg.Primary.IsValid() {
		return fmt.Errorf("vrrp instance %s: no source address", cfg.Name)
	}
	v6 := cfg.Primary.Is6()
	for _, a := range cfg.Addresses {
		if a.Is6() != v6 {
			return fmt.Errorf("vrrp instance %s: address %v is not of the family of %v", cfg.Name, a, cfg.Primary)
		}
	}
	if cfg.Version == 0 {
		cfg.Version = Version2
		if v6 {
			cfg.Version = Version3
		}
	}
	if cfg.Version != Version2 && cfg.Version != Version3 {
		return fmt.Errorf("vrrp instance %s: unsupported version %d", cfg.Name, cfg.Version)
	}
	if cfg.Version == Version2 && v6 {
		return fmt.Errorf("vrrp instance %s: IPv6 needs VRRP version 3", cfg.Name)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.DownTimerAdverts == 0 {
		cfg.DownTimerAdverts = DefaultDownTimerAdverts
	}
	// Marshal knows the limits of each version's interval field.
	probe := Advertisement{Version: cfg.Version, Interval: cfg.Interval}
	if _, err := probe.Marshal(cfg.Primary, cfg.Primary); err != nil {
		return fmt.Errorf("vrrp instance %s: advert_int %v: %w", cfg.Name, cfg.Interval, err)
	}
	if cfg.Version == Version3 && cfg.AuthType != AuthNone {
		log.Warnf("(%s) VRRPv3 has no authentication - ignoring", cfg.Name)
		cfg.AuthType = AuthNone
	}
	switch cfg.AuthType {
	case AuthNone, AuthPass, AuthAH:
	default:
		return fmt.Errorf("vrrp instance %s: authentication %v is not supported", cfg.Name, cfg.AuthType)
	}
	if len(cfg.AuthPass) > authDataLen {
		return fmt.Errorf("vrrp instance %s: auth_pass longer than %d bytes", cfg.Name, authDataLen)
	}
	return nil
}

// errNotInit is returned by Start when the instance has already started.
var errNotInit = errors.New("instance already started")

// Start removes virtual addresses a previous run may have left behind and
// enters BACKUP, or MASTER for the address owner.
func (i *Instance) Start() error {
	i.lock()
	defer i.unlock()
	if i.state != StateInit {
		return fmt.Errorf("starting vrrp instance %s: %w", i.cfg.Name, errNotInit)
	}
	i.log.Infof("(%s) removing VIPs.", i.cfg.Name)
	if err := i.net.RemoveAddresses(); err != nil {
		logEach(i.log.Warnf, i.cfg.Name, err)
	}
	switch {
	case i.faultAtStart || (i.group != nil && i.group.state == StateFault):
		i.log.Infof("(%s) Entering FAULT STATE (init)", i.cfg.Name)
		i.faulted = i.faultAtStart
		i.setState(StateFault)
	case i.held || (i.group != nil && i.group.held()):
		// keepalived waits in FAULT for the scripts' first results
		// without telling anyone: no notify script, FIFO line or trap
		// until the instance, or its group, comes up or fails.
		i.log.Infof("(%s) Entering FAULT STATE (init)", i.cfg.Name)
		i.state, i.quiet = StateFault, true
		i.lastTransition = i.clock.Now()
	case i.cfg.Priority == PriorityOwner:
		i.nextReason = ReasonPreempted
		i.becomeMaster()
	default:
		i.nextReason = ReasonMasterNoResponse
		if i.group != nil && i.group.state == StateInit {
			// keepalived's group is BACKUP from its configuration
			// on, and tells so before its members do.
			i.group.setState(StateBackup)
		}
		i.log.Infof("(%s) Entering BACKUP STATE (init)", i.cfg.Name)
		i.setState(StateBackup)
		i.armDown(i.clock.Now())
	}
	if i.group != nil {
		i.group.started(i)
	}
	return nil
}

// Stop shuts the instance down: a master sends an advert of priority 0,
// so that a backup takes over after its skew time only, and releases the
// virtual addresses.
func (i *Instance) Stop() {
	i.lock()
	defer i.unlock()
	if i.state == StateInit || i.state == StateStop {
		return
	}
	i.stopTimers()
	if i.state == StateMaster {
		i.sendStop()
		if !i.cfg.KeepAddressesOnStop {
			i.removeAddresses()
		}
	}
	i.setState(StateStop)
}

// sendStop tells the backups that this master is going, so that they take
// over after their skew time rather than the whole down interval.
func (i *Instance) sendStop() {
	if i.advertise(PriorityStop) {
		i.stats.PriorityZeroSent++
		i.log.Infof("(%s) sent 0 priority", i.cfg.Name)
	}
}

// SetFault puts the instance in FAULT (when its interface loses carrier,
// for instance) or takes it out again, into BACKUP, or MASTER for the
// address owner. Before Start, it decides whether Start enters FAULT.
func (i *Instance) SetFault(fault bool) {
	i.lock()
	defer i.unlock()
	if i.state == StateInit {
		i.faultAtStart = fault
		return
	}
	if i.state == StateStop || fault == i.faulted {
		return
	}
	i.faulted = fault
	switch {
	case fault && i.quiet:
		// The FAULT entered quietly at start becomes one with a reason,
		// told as keepalived's down_instance tells it.
		i.log.Infof("(%s) Entering FAULT STATE", i.cfg.Name)
		i.setState(StateFault)
		if i.group != nil {
			i.group.syncFault(i)
		}
	case fault:
		i.enterFault()
		if i.group != nil {
			i.group.syncFault(i)
		}
	case i.group != nil:
		i.group.leaveFault()
	default:
		i.leaveFault()
	}
}

// SetHeld holds the instance in FAULT, or lets it go, while a track
// script of weight 0 has had no result yet. Held at Start, the instance
// enters FAULT without notifications, and so do the other members of its
// sync group; let go, it comes up as keepalived's try_up_instance brings
// it: the last member of a group to be let go first, then the others,
// then the group. Call it after SetFault, which tells a failure first.
func (i *Instance) SetHeld(held bool) {
	i.lock()
	defer i.unlock()
	if held == i.held {
		return
	}
	i.held = held
	if held || i.state != StateFault || i.faulted {
		return
	}
	if i.group != nil {
		i.group.leaveHeld(i)
		return
	}
	i.leaveFault()
}

func (i *Instance) enterFault() {
	if i.state != StateBackup && i.state != StateMaster {
		return
	}
	i.log.Infof("(%s) Entering FAULT STATE", i.cfg.Name)
	i.stopTimers()
	i.wantMaster = false
	if i.state == StateMaster {
		i.sendStop()
		i.removeAddresses()
		i.stats.ReleasedMaster++
	}
	i.setState(StateFault)
}

func (i *Instance) leaveFault() {
	if i.state != StateFault {
		return
	}
	i.masterInt = i.cfg.Interval
	i.preemptAt = time.Time{}
	if i.basePrio == PriorityOwner {
		i.nextReason = ReasonPreempted
		i.becomeMaster()
		return
	}
	i.nextReason = ReasonMasterNoResponse
	i.log.Infof("(%s) Entering BACKUP STATE", i.cfg.Name)
	i.setState(StateBackup)
	i.armDown(i.clock.Now())
}

// AddressLost tells a master that one of its addresses, virtual routes
// or virtual rules was deleted from under it, as keepalived's
// set_vrrp_backup hears of it: the master
// leaves MASTER, releasing its addresses, and stands for master again
// after the skew time alone, which puts them back; the other masters of
// its sync group do the same. Other states ignore it.
func (i *Instance) AddressLost() {
	i.lock()
	defer i.unlock()
	if i.state != StateMaster {
		return
	}
	i.leaveMaster()
	i.arm(i.skew())
	if i.group == nil {
		return
	}
	for _, m := range i.group.members {
		if m != i && m.state == StateMaster {
			m.leaveMaster()
			m.arm(m.skew())
		}
	}
	i.group.syncBackup(i)
}

// SetPriorityOffset sets the sum of the weights of the instance's failed
// or succeeded trackers (keepalived's total_priority): the effective
// priority is the configured one plus offset, kept within 1-254. The
// address owner's priority does not move. The change shows in the next
// advert, and in the elections after it.
func (i *Instance) SetPriorityOffset(offset int) {
	i.lock()
	defer i.unlock()
	i.offset = offset
	i.updatePriority()
}

// SetDrained holds the effective priority at 1 while drained, the
// address owner's too, so that any peer takes the addresses over (at
// once if it preempts); undrained, the priority is the configured one
// and the trackers' again. This is an extension: keepalived has no drain.
// 1 rather than 0, which would be a release, so that the instance still
// takes over when no peer is left.
func (i *Instance) SetDrained(drained bool) {
	i.lock()
	defer i.unlock()
	i.drained = drained
	i.updatePriority()
}

// updatePriority derives the effective priority from the configured one
// and the trackers' offset.
func (i *Instance) updatePriority() {
	p := int(i.basePrio)
	switch {
	case i.drained:
		p = 1
	case i.basePrio != PriorityOwner:
		p = min(max(p+i.offset, 1), PriorityOwner-1)
	}
	if uint8(p) == i.effPrio {
		return
	}
	i.log.Infof("(%s) Changing effective priority from %d to %d", i.cfg.Name, i.effPrio, p)
	i.effPrio = uint8(p)
	if i.state == StateMaster {
		i.masterPrio = i.effPrio
	}
	if i.cfg.NotifyPriorityChanges {
		i.event(EventPriorityChanged)
	}
}

// Receive processes a VRRP message for this instance's VRID: its bytes
// after the IP header, the header's addresses, and the TTL or hop limit it
// arrived with.
func (i *Instance) Receive(b []byte, src, dst netip.Addr, ttl int) {
	i.lock()
	defer i.unlock()
	if i.state == StateInit || i.state == StateStop {
		return
	}
	if i.cfg.AuthType == AuthAH {
		i.drop(dropf(DropAuth, "No AH header but auth type is AH"))
		i.authFailed(src, AuthTypeMismatch)
		return
	}
	i.receive(b, src, dst, ttl)
}

// receive is Receive with the instance locked and running.
func (i *Instance) receive(b []byte, src, dst netip.Addr, ttl int) {
	a, ok := i.check(b, src, dst, ttl)
	if !ok {
		return
	}
	switch i.state {
	case StateBackup:
		i.backupRx(a, src)
	case StateMaster:
		i.masterRx(a, src)
	}
}

// receiveAH processes a datagram with an Authentication Header for this
// instance's VRID, IP header included: it is authenticated, its sequence
// number must be above the last accepted, and its VRRP message then goes
// through Receive's checks.
func (i *Instance) receiveAH(d []byte, src, dst netip.Addr, ttl int) {
	i.lock()
	defer i.unlock()
	if i.state == StateInit || i.state == StateStop {
		return
	}
	if i.cfg.AuthType != AuthAH {
		i.drop(dropf(DropAuth, "Received AH header but auth type not AH"))
		i.authFailed(src, AuthTypeMismatch)
		return
	}
	b, seq, derr := verifyAH(d, []byte(i.cfg.AuthPass), i.cfg.Unicast)
	if derr != nil {
		i.drop(derr)
		i.authFailed(src, AuthFailed)
		return
	}
	if seq <= i.ahSeq {
		i.drop(dropf(DropAuth, "IPSEC-AH : sequence number %d already processed. Packet dropped. Local(%d)", seq, i.ahSeq))
		i.authFailed(src, AuthFailed)
		return
	}
	i.ahSeq = seq
	i.receive(b, src, dst, ttl)
}

// check applies the receive checks of RFC 3768 section 7.1 and RFC 5798
// section 7.1 in keepalived's order, counting and logging drops.
func (i *Instance) check(b []byte, src, dst netip.Addr, ttl int) (*Advertisement, bool) {
	if !i.cfg.Unicast && ttl != TTL {
		i.protoError(ProtoTTL)
		return nil, i.drop(dropf(DropTTL, "invalid ttl. %d and expect %d", ttl, TTL))
	}
	a := &i.rx
	if err := a.decode(b, src, dst, a.Addresses[:0]); err != nil {
		var de *DropError
		if !errors.As(err, &de) {
			de = dropf(DropLength, "%v", err)
		}
		switch de.Reason {
		case DropAuth:
			i.authFailed(src, AuthInvalidType)
		case DropVersion:
			i.protoError(ProtoVersion)
		case DropChecksum:
			i.protoError(ProtoChecksum)
		}
		return nil, i.drop(de)
	}
	if a.Version == Version2 && i.cfg.Version == Version2 {
		if a.AuthType != i.cfg.AuthType {
			i.authFailed(src, AuthTypeMismatch)
			return nil, i.drop(dropf(DropAuth, "received a %d auth, expecting %d!", a.AuthType, i.cfg.AuthType))
		}
		if a.AuthType == AuthPass && a.AuthData != i.authData {
			i.authFailed(src, AuthFailed)
			return nil, i.drop(dropf(DropAuth, "received an invalid passwd!"))
		}
		if a.Interval != i.cfg.Interval {
			return nil, i.drop(dropf(DropInterval, "advertisement interval mismatch mine=%d sec rcv'd=%d sec",
				i.cfg.Interval/time.Second, a.Interval/time.Second))
		}
	}
	if a.Version != i.cfg.Version {
		i.protoError(ProtoVersion)
		return nil, i.drop(dropf(DropVersion, "invalid version. %d and expect %d", a.Version, i.cfg.Version))
	}
	if a.VRID != i.cfg.VRID {
		return nil, i.drop(dropf(DropVRID, "received VRID mismatch. Received %d, Expected %d", a.VRID, i.cfg.VRID))
	}
	if len(a.Addresses) != len(i.cfg.Addresses) {
		return nil, i.drop(dropf(DropAddresses, "received an unexpected ip number count %d, expected %d!", len(a.Addresses), len(i.cfg.Addresses)))
	}
	i.stats.AdvertsReceived++
	// skip_check_adv_addr spares the check for adverts of the master
	// already known, which have been checked once.
	if !i.cfg.SkipCheckAdvAddr || i.state != StateBackup || src != i.masterAddr {
		for _, want := range i.cfg.Addresses {
			if !contains(a.Addresses, want) {
				return nil, i.drop(dropf(DropAddresses, "ip address associated with VRID %d not present in MASTER advert : %v", i.cfg.VRID, want))
			}
		}
	}
	if i.cfg.CheckUnicastSrc && len(i.cfg.Peers) > 0 {
		if !contains(i.cfg.Peers, src) {
			return nil, i.drop(dropf(DropSource, "unicast source address %v not a unicast peer", src))
		}
		if r, ok := i.cfg.PeerTTL[src]; ok && ttl >= 0 && (ttl < r.Min || ttl > r.Max) {
			i.protoError(ProtoTTL)
			return nil, i.drop(dropf(DropTTL, "TTL/HL %d not in range %d - %d", ttl, r.Min, r.Max))
		}
	}
	if a.Priority == PriorityStop {
		i.stats.PriorityZeroReceived++
	}
	return a, true
}

func contains(addrs []netip.Addr, a netip.Addr) bool {
	for _, b := range addrs {
		if a == b {
			return true
		}
	}
	return false
}

// drop counts a discarded advert and logs the first of each reason; a
// misconfigured peer would otherwise fill the log once a second.
func (i *Instance) drop(e *DropError) bool {
	i.stats.Drops[e.Reason]++
	if !i.logged[e.Reason] {
		i.logged[e.Reason] = true
		i.log.Infof("(%s) %s", i.cfg.Name, e.Msg)
	} else {
		i.log.Debugf("(%s) %s", i.cfg.Name, e.Msg)
	}
	return false
}

func (i *Instance) backupRx(a *Advertisement, src netip.Addr) {
	now := i.clock.Now()
	if g := i.bfdGone; g.IsValid() {
		if src != g && a.Priority != PriorityStop && a.Priority < i.effPrio {
			// Another backup of the master whose BFD session went
			// Down took over first: the armed takeover stands, so
			// that the highest priority ends master, as VRRP's skew
			// would have it (even under nopreempt: this backup's
			// turn came before that one's mastership).
			i.log.Infof("(%s) received lower priority (%d) advert from %v while taking over from %v - discarding", i.cfg.Name, a.Priority, src, g)
			return
		}
		i.bfdGone = netip.Addr{}
	}
	switch {
	case a.Priority == PriorityStop:
		i.log.Infof("(%s) Backup received priority 0 advertisement", i.cfg.Name)
		i.nextReason = ReasonPriority
		i.arm(i.skew())
	case i.cfg.Nopreempt || a.Priority >= i.effPrio ||
		(i.cfg.PreemptDelay > 0 && (i.preemptAt.IsZero() || i.preemptAt.After(now))):
		if i.cfg.Version == Version3 && i.masterInt != a.Interval {
			i.log.Infof("(%s) advertisement interval updated to %d milli-sec from %d milli-sec",
				i.cfg.Name, a.Interval.Milliseconds(), i.masterInt.Milliseconds())
			i.masterInt = a.Interval
		}
		i.masterAddr = src
		i.heard, i.heardAt = src, now
		i.nextReason = ReasonMasterNoResponse
		i.masterPrio = a.Priority
		i.advertPrio = a.Priority
		i.wantMaster = false
		i.armDown(now)
		if i.cfg.PreemptDelay > 0 {
			if a.Priority >= i.effPrio {
				if !i.preemptAt.IsZero() {
					i.log.Infof("VRRP_Instance(%s) stop preempt delay", i.cfg.Name)
					i.preemptAt = time.Time{}
				}
			} else if i.preemptAt.IsZero() {
				i.log.Infof("VRRP_Instance(%s) start preempt delay(%d)", i.cfg.Name, int(i.cfg.PreemptDelay/time.Second))
				i.preemptAt = now.Add(i.cfg.PreemptDelay)
			}
		}
	default:
		// Preemption: let the down timer run out rather than reset it.
		i.log.Infof("(%s) received lower priority (%d) advert from %v - discarding", i.cfg.Name, a.Priority, src)
		i.masterAddr = src
		i.heard, i.heardAt = src, now
		i.nextReason = ReasonPreempted
	}
}

func (i *Instance) masterRx(a *Advertisement, src netip.Addr) {
	cmp := src.Compare(i.cfg.Primary)
	better := a.Priority > i.effPrio || (a.Priority == i.effPrio && cmp > 0)
	if a.Priority == PriorityStop || (i.cfg.HigherPrioSendAdvert && better) {
		// keepalived words both cases the same way.
		i.log.Infof("(%s) Master received priority 0 message", i.cfg.Name)
		i.advertise(i.effPrio)
		if a.Priority == PriorityStop {
			return
		}
	}
	if a.Priority == i.effPrio {
		switch {
		case cmp == 0:
			i.log.Infof("(%s) WARNING - equal priority advert received from remote host with our IP address.", i.cfg.Name)
		case i.effPrio == PriorityOwner:
			// Two owners would both stay master for ever.
			i.log.Infof("(%s) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority", i.cfg.Name)
			i.basePrio = PriorityOwner - 1
			i.effPrio = PriorityOwner - 1
			better = true
		}
	}
	switch {
	case better:
		if a.Priority > i.effPrio {
			i.log.Infof("(%s) Master received advert from %v with higher priority %d, ours %d",
				i.cfg.Name, src, a.Priority, i.effPrio)
		} else {
			i.log.Infof("(%s) Master received advert from %v with same priority %d but higher IP address than ours",
				i.cfg.Name, src, a.Priority)
		}
		i.masterAddr, i.heardAt = src, i.clock.Now()
		i.masterPrio = a.Priority
		i.advertPrio = a.Priority
		i.leaveMaster()
		if i.group != nil {
			i.group.syncBackup(i)
		}
	case a.Priority < i.effPrio || cmp < 0:
		suffix := ", forcing new election"
		if i.cfg.LowerPrioNoAdvert {
			suffix = ""
		}
		i.log.Infof("(%s) Received advert from %v with lower priority %d, ours %d%s",
			i.cfg.Name, src, a.Priority, i.effPrio, suffix)
		if !i.cfg.LowerPrioNoAdvert {
			// Answer at once so that the other router, which
			// believes itself master, hears who is and steps down.
			i.advertise(i.effPrio)
		}
		if i.cfg.GarpLowerPrioRepeat > 0 {
			i.announce(i.cfg.GarpLowerPrioRepeat)
			if i.cfg.GarpLowerPrioDelay > 0 {
				term := i.term
				i.after(i.cfg.GarpLowerPrioDelay, func() {
					i.lock()
					defer i.unlock()
					if i.state == StateMaster && i.term == term {
						i.announce(i.cfg.GarpLowerPrioRepeat)
					}
				})
			}
		}
		// keepalived reports it so that a notify_master_rx_lower_pri
		// script can take back what another router's notify_master
		// took.
		i.event(EventMasterRxLowerPri)
	}
}

func (i *Instance) becomeMaster() {
	i.log.Infof("(%s) Entering MASTER STATE", i.cfg.Name)
	if i.cfg.Version == Version3 {
		i.log.Infof("(%s) using locally configured advertisement interval (%d milli-sec)", i.cfg.Name, i.cfg.Interval.Milliseconds())
	}
	i.masterInt = i.cfg.Interval
	i.masterAddr = i.cfg.Primary
	i.masterPrio = i.effPrio
	i.masterReason = i.nextReason
	i.wantMaster = false
	i.term++
	i.setState(StateMaster)
	i.stats.BecameMaster++
	i.log.Infof("(%s) setting VIPs.", i.cfg.Name)
	if err := i.net.AddAddresses(); err != nil {
		logEach(i.log.Errorf, i.cfg.Name, err)
	}
	i.announce(i.cfg.GarpMasterRepeat)
	if i.cfg.GarpMasterDelay > 0 && i.cfg.GarpMasterRepeat > 0 {
		term := i.term
		i.garpTimer = i.after(i.cfg.GarpMasterDelay, func() {
			i.lock()
			defer i.unlock()
			if i.state == StateMaster && i.term == term {
				i.announce(i.cfg.GarpMasterRepeat)
			}
		})
	}
	now := i.clock.Now()
	if i.cfg.GarpMasterRefresh > 0 {
		i.refreshAt = now.Add(i.cfg.GarpMasterRefresh)
	}
	if i.cfg.GarpExtraIf > 0 {
		i.extraAt = now.Add(i.cfg.GarpExtraIf)
	}
	i.advertise(i.effPrio)
	i.armAt(now, i.cfg.Interval)
}

// extraAnnouncer is a Network that announces the VIPs on interfaces
// other than the instance's, for garp_extra_if.
type extraAnnouncer interface {
	AnnounceExtra() error
}

// masterTx runs every advert interval while master.
//
// The refresh timers are read and set on the schedule of the adverts
// (the time this advert was due), not on the time the timer fired: adverts
// are armed one interval after the one that was due, and a refresh due
// with the second advert would otherwise wait for the third whenever the
// second fired a little earlier after its due time than the first did.
func (i *Instance) masterTx() {
	due := i.deadline
	if i.cfg.GarpMasterRefresh > 0 && !due.Before(i.refreshAt) {
		i.announce(max(i.cfg.GarpMasterRefreshRepeat, 1))
		i.refreshAt = due.Add(i.cfg.GarpMasterRefresh)
	}
	if x, ok := i.net.(extraAnnouncer); ok && i.cfg.GarpExtraIf > 0 && !due.Before(i.extraAt) {
		if err := x.AnnounceExtra(); err != nil {
			logEach(i.log.Warnf, i.cfg.Name, err)
		}
		i.extraAt = due.Add(i.cfg.GarpExtraIf)
	}
	i.advertise(i.effPrio)
	i.armNext()
}

// armNext arms a master's next advert one interval after the one that was
// due rather than after now. From now, every interval would grow by how
// late the timer fired and how long the send took: at advert_int 0.01
// that was 6% fewer adverts than the interval promises, and instances
// that became master together drifted apart, so that a backup taking over
// all of them waited for the latest. After a stall longer than an
// interval the schedule starts again from now instead of catching up
// with a burst.
func (i *Instance) armNext() {
	now := i.clock.Now()
	next := i.deadline.Add(i.cfg.Interval)
	if !next.After(now) {
		next = now.Add(i.cfg.Interval)
	}
	i.armAt(now, next.Sub(now))
}

func (i *Instance) leaveMaster() {
	i.log.Infof("(%s) Entering BACKUP STATE", i.cfg.Name)
	i.stopTimers()
	i.preemptAt = time.Time{}
	i.masterInt = i.cfg.Interval
	i.removeAddresses()
	i.stats.ReleasedMaster++
	i.nextReason = ReasonMasterNoResponse
	i.setState(StateBackup)
	i.armDown(i.clock.Now())
}

func (i *Instance) removeAddresses() {
	i.log.Infof("(%s) removing VIPs.", i.cfg.Name)
	if err := i.net.RemoveAddresses(); err != nil {
		logEach(i.log.Errorf, i.cfg.Name, err)
	}
}

func (i *Instance) announce(rounds int) {
	if rounds <= 0 || len(i.cfg.Addresses) == 0 {
		return
	}
	if err := i.net.Announce(rounds); err != nil {
		logEach(i.log.Warnf, i.cfg.Name, err)
	}
}

func (i *Instance) advertise(prio uint8) bool {
	if i.cfg.AuthType == AuthAH {
		i.ahSeq++
	}
	a := &Advertisement{
		ahSeq:     i.ahSeq,
		Version:   i.cfg.Version,
		VRID:      i.cfg.VRID,
		Priority:  prio,
		Interval:  i.cfg.Interval,
		Addresses: i.cfg.Addresses,
		AuthType:  i.cfg.AuthType,
		AuthData:  i.authData,
	}
	if err := i.net.Advertise(a); err != nil {
		i.log.Warnf("(%s) %v", i.cfg.Name, err)
		return false
	}
	i.stats.AdvertsSent++
	return true
}

// event reports ev in the current state.
func (i *Instance) event(ev Event) { i.report(Transition{Event: ev}) }

// report reports t, an event in the current state, filled in with the
// instance, its state, priority and the time.
func (i *Instance) report(t Transition) {
	if i.cfg.Notify == nil {
		return
	}
	t.Instance, t.VRID = i.cfg.Name, i.cfg.VRID
	t.From, t.To = i.state, i.state
	t.Priority, t.Time = i.effPrio, i.clock.Now()
	i.cfg.Notify(t)
}

// authFailed reports an advert from src that failed authentication.
func (i *Instance) authFailed(src netip.Addr, f AuthFailure) {
	i.report(Transition{Event: EventAuthFailure, Source: src, Auth: f})
}

// protoError records a protocol error found in an advert and reports it.
func (i *Instance) protoError(e ProtoError) {
	i.protoErr = e
	i.report(Transition{Event: EventProtoError, ProtoErr: e})
}

func (i *Instance) setState(s State) {
	from := i.state
	i.state, i.quiet = s, false
	i.bfdGone = netip.Addr{}
	i.lastTransition = i.clock.Now()
	i.stats.Transitions++
	if i.cfg.Notify != nil {
		i.cfg.Notify(Transition{
			Instance: i.cfg.Name,
			VRID:     i.cfg.VRID,
			From:     from,
			To:       s,
			Priority: i.effPrio,
			Time:     i.lastTransition,
		})
	}
}

// skew is the Skew_Time of RFC 3768 and RFC 5798 section 6.1.
func (i *Instance) skew() time.Duration {
	if i.cfg.Version == Version3 {
		return time.Duration(256-int(i.effPrio)) * i.masterInt / 256
	}
	return time.Duration(256-int(i.effPrio)) * time.Second / 256
}

// downInterval is the Master_Down_Interval, with keepalived's
// down_timer_adverts in place of the RFC's fixed 3.
func (i *Instance) downInterval() time.Duration {
	return time.Duration(i.cfg.DownTimerAdverts)*i.masterInt + i.skew()
}

// armDown arms a backup's down timer: the Master_Down_Interval, from
// StartAfter rather than now while that is to come, as keepalived's
// vrrp_startup_delay holds it.
func (i *Instance) armDown(now time.Time) {
	d := i.downInterval()
	if now.Before(i.cfg.StartAfter) {
		d += i.cfg.StartAfter.Sub(now)
	}
	i.armAt(now, d)
}

// arm sets the instance's timer to expire after d: the down timer in
// BACKUP, the advert timer in MASTER. A backup does this for every advert
// it receives, so the timer is reset rather than replaced.
func (i *Instance) arm(d time.Duration) { i.armAt(i.clock.Now(), d) }

// armAt is arm with the time already read.
func (i *Instance) armAt(now time.Time, d time.Duration) {
	i.deadline = now.Add(d)
	i.armed = true
	if i.timer == nil {
		i.timer = i.clock.AfterFunc(d, i.expire)
		return
	}
	i.timer.Reset(d)
}

func (i *Instance) stopTimers() {
	i.armed = false
	if i.timer != nil {
		i.timer.Stop()
	}
	if i.garpTimer != nil {
		i.garpTimer.Stop()
		i.garpTimer = nil
	}
}

// after runs f after d in a goroutine of the clock's, containing a
// panic in it.
func (i *Instance) after(d time.Duration, f func()) Timer {
	return i.clock.AfterFunc(d, func() { i.guard.run(i.timerWhat, f) })
}

// expire runs when the timer is due. A panic in what it does leaves the
// instance in the state it had reached, with its timer running again, so
// that a master goes on advertising and keeps its addresses, and a
// backup goes on watching for its master.
func (i *Instance) expire() {
	if !i.guard.run(i.timerWhat, i.timerDue) {
		return
	}
	i.lock()
	defer i.unlock()
	if i.armed {
		return
	}
	switch i.state {
	case StateMaster:
		i.arm(i.cfg.Interval)
	case StateBackup:
		i.armDown(i.clock.Now())
	}
}

func (i *Instance) timerDue() {
	i.lock()
	defer i.unlock()
	if !i.armed {
		// Stopped after this run had started.
		return
	}
	if now := i.clock.Now(); now.Before(i.deadline) {
		// Re-armed after this run had started: the timer is set for
		// the new deadline already, and setting it again is harmless
		// and sure.
		i.timer.Reset(i.deadline.Sub(now))
		return
	}
	i.armed = false
	switch i.state {
	case StateBackup:
		i.log.Infof("(%s) Receive advertisement timeout", i.cfg.Name)
		if i.group == nil {
			i.becomeMaster()
			return
		}
		i.wantMaster = true
		i.group.syncMaster(false)
	case StateMaster:
		i.masterTx()
	}
}

// Status returns a snapshot of the instance.
func (i *Instance) Status() Status {
	i.lock()
	defer i.unlock()
	st := i.stats
	st.Panics = i.guard.count.Load()
	st.Drops = make(map[DropReason]uint64, len(i.stats.Drops))
	for r, n := range i.stats.Drops {
		st.Drops[r] = n
	}
	return Status{
		Name:              i.cfg.Name,
		VRID:              i.cfg.VRID,
		State:             i.state,
		Priority:          i.cfg.Priority,
		EffectivePriority: i.effPrio,
		Master:            i.masterAddr,
		MasterPriority:    i.masterPrio,
		AdvertPriority:    i.advertPrio,
		Heard:             i.heard,
		MasterReason:      i.masterReason,
		ProtoErr:          i.protoErr,
		MasterInterval:    i.masterInt,
		DownInterval:      i.downInterval(),
		LastTransition:    i.lastTransition,
		Stats:             st,
	}
}

// SendGratuitous sends one round of gratuitous ARPs or unsolicited
// neighbour adverts for the addresses of a master, which holds them; in
// another state it sends nothing, as keepalived announces only addresses
// that are set (its D-Bus SendGarp).
func (i *Instance) SendGratuitous() {
	i.lock()
	defer i.unlock()
	if i.state == StateMaster {
		i.announce(1)
	}
}

// Name returns the instance's name.
func (i *Instance) Name() string { return i.cfg.Name }

// VRID returns the instance's virtual router identifier.
func (i *Instance) VRID() uint8 { return i.cfg.VRID }
