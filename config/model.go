package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is a parsed, defaulted keepalived configuration. Values that
// keepalived inherits from an enclosing block (a virtual server's
// delay_loop for its checkers, global garp settings for instances, ...)
// are already resolved into each block. Timers are time.Durations, which
// encoding/json writes as nanoseconds.
type Config struct {
	Global          Global         `json:"global"`
	StaticAddresses []Address      `json:"static_addresses,omitempty"`
	StaticRoutes    []Route        `json:"static_routes,omitempty"`
	StaticRules     []Rule         `json:"static_rules,omitempty"`
	Scripts         []Script       `json:"vrrp_scripts,omitempty"`
	TrackFiles      []TrackFile    `json:"track_files,omitempty"`
	TrackProcesses  []TrackProcess `json:"vrrp_track_processes,omitempty"`
	SyncGroups      []SyncGroup    `json:"vrrp_sync_groups,omitempty"`
	// TrackGroups are the track_group blocks: the instances that track
	// the interfaces of the static entries that name them.
	TrackGroups []TrackGroup `json:"track_groups,omitempty"`
	// GarpGroups are the garp_group blocks: the intervals between
	// gratuitous ARPs and neighbour adverts on their interfaces.
	GarpGroups          []GarpGroup          `json:"garp_groups,omitempty"`
	Instances           []Instance           `json:"vrrp_instances,omitempty"`
	VirtualServerGroups []VirtualServerGroup `json:"virtual_server_groups,omitempty"`
	VirtualServers      []VirtualServer      `json:"virtual_servers,omitempty"`
	SSL                 *SSL                 `json:"ssl,omitempty"`
	// BFDInstances are the bfd_instance blocks keepalived keeps.
	BFDInstances []BFDInstance `json:"bfd_instances,omitempty"`
	// BGPSpeaker and BGPAnnounces are the gokeepalived extension that
	// announces prefixes over BGP by health.
	BGPSpeaker   *BGPSpeaker   `json:"bgp_speaker,omitempty"`
	BGPAnnounces []BGPAnnounce `json:"bgp_announces,omitempty"`
	// Other holds top-level blocks that are valid keepalived but that this
	// model does not interpret (vrrp_track_process,
	// linkbeat_interfaces, garp_group, ...).
	Other []Raw `json:"other,omitempty"`
}

// Raw is a keyword kept as the words it was written with, and its block.
type Raw struct {
	Pos   Pos      `json:"pos,omitzero"`
	Words []string `json:"words"`
	Block []Raw    `json:"block,omitempty"`
}

// Global is the global_defs block.
type Global struct {
	Pos                   Pos           `json:"pos,omitzero"`
	RouterID              string        `json:"router_id,omitempty"`
	NotificationEmail     []string      `json:"notification_email,omitempty"`
	NotificationEmailFrom string        `json:"notification_email_from,omitempty"`
	SMTPServer            string        `json:"smtp_server,omitempty"`
	SMTPPort              uint16        `json:"smtp_port"`
	SMTPHeloName          string        `json:"smtp_helo_name,omitempty"`
	SMTPConnectTimeout    time.Duration `json:"smtp_connect_timeout"`
	SMTPAlert             *bool         `json:"smtp_alert,omitempty"`
	SMTPAlertVRRP         *bool         `json:"smtp_alert_vrrp,omitempty"`
	SMTPAlertChecker      *bool         `json:"smtp_alert_checker,omitempty"`
	NoEmailFaults         bool          `json:"no_email_faults,omitempty"`

	// EnableDBus is enable_dbus: the VRRP process serves keepalived's
	// D-Bus interface on the system bus, under DBusServiceName (empty
	// for org.keepalived.Vrrp1).
	EnableDBus      bool   `json:"enable_dbus,omitempty"`
	DBusServiceName string `json:"dbus_service_name,omitempty"`

	// EnableSNMPVRRP, EnableSNMPChecker, EnableSNMPRFCv2 and
	// EnableSNMPRFCv3 say which MIBs the daemon's AgentX subagents serve
	// (KEEPALIVED-MIB's VRRP and checker parts, VRRP-MIB of RFC 2787,
	// VRRPv3-MIB of RFC 6527); EnableTraps sends their notifications.
	// SNMPSocket is the master agent's socket, "" for net-snmp's default
	// (unix:/var/agentx/master). The command line's -x and -A set them
	// too (snmp.go in cmd/gokeepalived).
	EnableSNMPVRRP    bool   `json:"enable_snmp_vrrp,omitempty"`
	EnableSNMPChecker bool   `json:"enable_snmp_checker,omitempty"`
	EnableSNMPRFCv2   bool   `json:"enable_snmp_rfcv2,omitempty"`
	EnableSNMPRFCv3   bool   `json:"enable_snmp_rfcv3,omitempty"`
	EnableTraps       bool   `json:"enable_traps,omitempty"`
	SNMPSocket        string `json:"snmp_socket,omitempty"`

	EnableScriptSecurity bool   `json:"enable_script_security,omitempty"`
	ScriptUser           string `json:"script_user,omitempty"`
	ScriptGroup          string `json:"script_group,omitempty"`

	// Umask is the umask keyword's mask; nil when absent.
	Umask *int `json:"umask,omitempty"`

	// NetNamespace is net_namespace: the network namespace, named as
	// under /run/netns, the daemon does all its network work in; empty
	// for the namespace it is started in. -s overrides it.
	NetNamespace string `json:"net_namespace,omitempty"`
	// NetNamespaceIPVS is net_namespace_ipvs; nil when absent, empty
	// for the default namespace.
	NetNamespaceIPVS *string `json:"net_namespace_ipvs,omitempty"`
	// NamespaceWithIpsets is namespace_with_ipsets.
	NamespaceWithIpsets bool `json:"namespace_with_ipsets,omitempty"`
	// InstanceName is the instance keyword: it names the pid files
	// and the syslog ident, so that several daemons can run on a host.
	InstanceName string `json:"instance,omitempty"`
	// UsePidDir is use_pid_dir: the pid files go in /run/keepalived/.
	// net_namespace and instance imply it.
	UsePidDir bool `json:"use_pid_dir,omitempty"`

	// StartupScript runs before the loops start and ShutdownScript after
	// they stop, each bounded by its timeout (10 s unless set).
	StartupScript         *Notify       `json:"startup_script,omitempty"`
	StartupScriptTimeout  time.Duration `json:"startup_script_timeout,omitempty"`
	ShutdownScript        *Notify       `json:"shutdown_script,omitempty"`
	ShutdownScriptTimeout time.Duration `json:"shutdown_script_timeout,omitempty"`

	VRRPMcastGroup4             netip.Addr    `json:"vrrp_mcast_group4"`
	VRRPMcastGroup6             netip.Addr    `json:"vrrp_mcast_group6"`
	VRRPGarpMasterDelay         time.Duration `json:"vrrp_garp_master_delay"`
	VRRPGarpMasterRepeat        int           `json:"vrrp_garp_master_repeat"`
	VRRPGarpLowerPrioDelay      time.Duration `json:"vrrp_garp_lower_prio_delay"`
	VRRPGarpLowerPrioRepeat     int           `json:"vrrp_garp_lower_prio_repeat"`
	VRRPGarpMasterRefresh       time.Duration `json:"vrrp_garp_master_refresh"`
	VRRPGarpMasterRefreshRepeat int           `json:"vrrp_garp_master_refresh_repeat"`
	VRRPGarpInterval            time.Duration `json:"vrrp_garp_interval"`
	VRRPGnaInterval             time.Duration `json:"vrrp_gna_interval"`
	VRRPMinGarp                 bool          `json:"vrrp_min_garp,omitempty"`
	// VRRPGarpExtraIf is vrrp_garp_extra_if's delay; All is its "all".
	VRRPGarpExtraIf          time.Duration `json:"vrrp_garp_extra_if,omitempty"`
	VRRPGarpExtraIfAll       bool          `json:"vrrp_garp_extra_if_all,omitempty"`
	VRRPLowerPrioNoAdvert    bool          `json:"vrrp_lower_prio_no_advert,omitempty"`
	VRRPHigherPrioSendAdvert bool          `json:"vrrp_higher_prio_send_advert,omitempty"`
	VRRPVersion              int           `json:"vrrp_version"`
	VRRPStrict               bool          `json:"vrrp_strict,omitempty"`
	// DefaultInterface (default_interface) is where a static address
	// without dev goes; the package's DefaultInterface when empty.
	DefaultInterface string `json:"default_interface,omitempty"`
	// VMACPrefix (vmac_prefix) starts the name of a VMAC interface
	// use_vmac does not name; "vrrp" when empty.
	VMACPrefix           string `json:"vmac_prefix,omitempty"`
	VRRPSkipCheckAdvAddr bool   `json:"vrrp_skip_check_adv_addr,omitempty"`
	VRRPCheckUnicastSrc  bool   `json:"vrrp_check_unicast_src,omitempty"`
	// NFTables is the nftables table of the VIP firewall (nftables),
	// empty when not given: an instance that needs the firewall then
	// uses keepalived's default, "keepalived".
	NFTables string `json:"nftables,omitempty"`
	// NFTablesPriority is the firewall's base chains' priority
	// (nftables_priority), -1 by default and again after nftables.
	NFTablesPriority int32 `json:"nftables_priority"`
	// NFTablesIfindex (nftables_ifindex) keys link-local VIPs by
	// interface index even with dont_track_primary.
	NFTablesIfindex bool `json:"nftables_ifindex,omitempty"`
	// NFTablesCounters (nftables_counters) gives every rule a counter.
	NFTablesCounters     bool          `json:"nftables_counters,omitempty"`
	VRRPDownTimerAdverts int           `json:"vrrp_down_timer_adverts"`
	VRRPStartupDelay     time.Duration `json:"vrrp_startup_delay,omitempty"`
	MaxAutoPriority      int           `json:"max_auto_priority,omitempty"`
	DynamicInterfaces    bool          `json:"dynamic_interfaces,omitempty"`
	// VRRPNotifyPriorityChanges is vrrp_notify_priority_changes: the
	// default of the instances' notify_priority_changes.
	VRRPNotifyPriorityChanges       bool `json:"vrrp_notify_priority_changes,omitempty"`
	DynamicInterfacesAllowIfChanges bool `json:"dynamic_interfaces_allow_if_changes,omitempty"`
	// FIFOWriteVRRPStatesOnReload (fifo_write_vrrp_states_on_reload)
	// writes the state of every instance and group a reload leaves as
	// it was to the notify FIFOs.
	FIFOWriteVRRPStatesOnReload bool `json:"fifo_write_vrrp_states_on_reload,omitempty"`

	NotifyFIFO     FIFO `json:"notify_fifo,omitzero"`
	VRRPNotifyFIFO FIFO `json:"vrrp_notify_fifo,omitzero"`
	LVSNotifyFIFO  FIFO `json:"lvs_notify_fifo,omitzero"`

	LVSTimeouts           LVSTimeouts    `json:"lvs_timeouts,omitzero"`
	LVSFlush              bool           `json:"lvs_flush,omitempty"`
	LVSFlushOnStop        FlushOnStop    `json:"lvs_flush_on_stop,omitempty"`
	LVSSyncDaemon         *LVSSyncDaemon `json:"lvs_sync_daemon,omitempty"`
	CheckerLogAllFailures bool           `json:"checker_log_all_failures,omitempty"`
	// LVSSloppyTCP and LVSSloppySCTP are the lvs_sloppy_tcp and
	// lvs_sloppy_sctp extensions: IPVS's sloppy_tcp and sloppy_sctp.
	LVSSloppyTCP  bool `json:"lvs_sloppy_tcp,omitempty"`
	LVSSloppySCTP bool `json:"lvs_sloppy_sctp,omitempty"`
	// RSInitNotifies runs the notify_up scripts of the real servers found
	// up at start-up (rs_init_notifies).
	RSInitNotifies bool `json:"rs_init_notifies,omitempty"`
	// NoCheckerEmails mails a real server's checker changes only when
	// they change the server's state (no_checker_emails).
	NoCheckerEmails bool `json:"no_checker_emails,omitempty"`

	// Other holds global_defs keywords that are valid keepalived but that
	// this model does not interpret.
	Other []Raw `json:"other,omitempty"`
}

// FIFO is one of the notify FIFOs and the script keepalived starts to read it.
type FIFO struct {
	Pos    Pos     `json:"pos,omitzero"`
	Path   string  `json:"path,omitempty"`
	User   string  `json:"user,omitempty"`
	Group  string  `json:"group,omitempty"`
	Script *Notify `json:"script,omitempty"`
}

// LVSTimeouts is the lvs_timeouts keyword; zero means the kernel's value.
type LVSTimeouts struct {
	TCP    time.Duration `json:"tcp,omitempty"`
	TCPFin time.Duration `json:"tcpfin,omitempty"`
	UDP    time.Duration `json:"udp,omitempty"`
}

// LVSSyncDaemon is the lvs_sync_daemon keyword.
type LVSSyncDaemon struct {
	Pos       Pos    `json:"pos,omitzero"`
	Interface string `json:"interface"`
	Instance  string `json:"instance"`
	// SyncID is id; without one, the VRID of Instance, as keepalived
	// takes it.
	SyncID int        `json:"id,omitempty"`
	MaxLen int        `json:"maxlen,omitempty"`
	Port   uint16     `json:"port,omitempty"`
	TTL    int        `json:"ttl,omitempty"`
	Group  netip.Addr `json:"group,omitzero"`
	idSet  bool
}

// Notify is a script keepalived runs, with the user and group to run it as.
type Notify struct {
	Pos   Pos    `json:"pos,omitzero"`
	Cmd   string `json:"cmd"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// Address is an address line: a virtual_ipaddress, a
// virtual_ipaddress_excluded or a static_ipaddress.
type Address struct {
	Pos           Pos          `json:"pos,omitzero"`
	Prefix        netip.Prefix `json:"prefix"`
	Broadcast     Broadcast    `json:"brd,omitzero"`
	Dev           string       `json:"dev,omitempty"`
	Scope         Scope        `json:"scope,omitempty"`
	Label         string       `json:"label,omitempty"`
	Peer          netip.Prefix `json:"peer,omitzero"`
	Home          bool         `json:"home,omitempty"`
	NoDAD         bool         `json:"nodad,omitempty"`
	MngTmpAddr    bool         `json:"mngtmpaddr,omitempty"`
	NoPrefixRoute bool         `json:"noprefixroute,omitempty"`
	AutoJoin      bool         `json:"autojoin,omitempty"`
	NoTrack       bool         `json:"no_track,omitempty"`
	UseVMAC       bool         `json:"use_vmac,omitempty"`
	PreferredLft  string       `json:"preferred_lft,omitempty"`
	TrackGroup    string       `json:"track_group,omitempty"`
}

// Route is a virtual_routes or static_routes line. Options keeps the
// route attributes this model does not interpret, as written.
type Route struct {
	Pos      Pos           `json:"pos,omitzero"`
	Type     RouteType     `json:"type,omitempty"`
	To       netip.Prefix  `json:"to"`
	Src      netip.Addr    `json:"src,omitzero"`
	Via      netip.Addr    `json:"via,omitzero"`
	Dev      string        `json:"dev,omitempty"`
	Table    Table         `json:"table,omitempty"`
	Metric   int           `json:"metric,omitempty"`
	Scope    Scope         `json:"scope,omitempty"`
	Protocol RouteProtocol `json:"protocol,omitempty"`
	NoTrack  bool          `json:"no_track,omitempty"`
	OnLink   bool          `json:"onlink,omitempty"`
	Options  []string      `json:"options,omitempty"`
	Tos      uint8         `json:"tos,omitempty"`    // tos or dsfield
	Realms   uint32        `json:"realms,omitempty"` // source realm << 16 | destination realm
	Metrics  RouteMetrics  `json:"metrics,omitzero"`
	// Nexthops are the nexthop clauses of a multipath route, or the
	// via and or addresses of the older form.
	Nexthops []Nexthop `json:"nexthops,omitempty"`
	// TrackGroup is a static route's track_group: its instances track
	// the route's interface.
	TrackGroup string `json:"track_group,omitempty"`
	// Mode is how the route goes in beside routes of the same
	// destination: add, append or prepend (the default).
	Mode RouteMode `json:"mode,omitempty"`
}

// RouteMode is a route's add, append or prepend.
type RouteMode uint8

const (
	// RoutePrepend puts the route before those of the same key, the
	// kernel's and keepalived's default.
	RoutePrepend RouteMode = iota
	// RouteAdd adds the route only when none of the same key exists.
	RouteAdd
	// RouteAppend puts the route after those of the same key.
	RouteAppend
)

// TrackGroup is a track_group block.
type TrackGroup struct {
	Pos   Pos      `json:"pos,omitzero"`
	Name  string   `json:"name"`
	Group []string `json:"group,omitempty"`
}

// RouteMetrics are a route's metrics (RTA_METRICS); zero is unset.
type RouteMetrics struct {
	// Lock has the bit 1 << RTAX_* of each metric given with lock.
	Lock       uint32 `json:"lock,omitempty"`
	MTU        uint32 `json:"mtu,omitempty"`
	Hoplimit   uint32 `json:"hoplimit,omitempty"`
	AdvMSS     uint32 `json:"advmss,omitempty"`
	RTT        uint32 `json:"rtt,omitempty"`    // in 1/8 ms
	RTTVar     uint32 `json:"rttvar,omitempty"` // in 1/4 ms
	Reordering uint32 `json:"reordering,omitempty"`
	Window     uint32 `json:"window,omitempty"`
	Cwnd       uint32 `json:"cwnd,omitempty"`
	Ssthresh   uint32 `json:"ssthresh,omitempty"`
	RtoMin     uint32 `json:"rto_min,omitempty"` // in ms
	InitCwnd   uint32 `json:"initcwnd,omitempty"`
	InitRwnd   uint32 `json:"initrwnd,omitempty"`
	FeatureECN bool   `json:"features_ecn,omitempty"`
	QuickACK   uint32 `json:"quickack,omitempty"`
	// FastOpenNoCookie is fastopen_no_cookie.
	FastOpenNoCookie uint32 `json:"fastopen_no_cookie,omitempty"`
	Congctl          string `json:"congctl,omitempty"`
}

// A Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight,omitempty"` // 1-256; zero is 1
	OnLink bool       `json:"onlink,omitempty"`
}

// Rule is a virtual_rules or static_rules line.
type Rule struct {
	Pos      Pos          `json:"pos,omitzero"`
	From     netip.Prefix `json:"from,omitzero"`
	To       netip.Prefix `json:"to,omitzero"`
	Table    Table        `json:"table,omitempty"`
	Priority int          `json:"priority,omitempty"`
	Action   RuleAction   `json:"action,omitempty"`
	Goto     int          `json:"goto,omitempty"`   // goto's target
	Fwmark   *Fwmark      `json:"fwmark,omitempty"` // fwmark
	Iif      string       `json:"iif,omitempty"`    // iif, dev
	Oif      string       `json:"oif,omitempty"`    // oif
	Invert   bool         `json:"not,omitempty"`    // not
	IPv6     bool         `json:"inet6,omitempty"`  // inet6: a rule of neither from nor to
	// Protocol is the rule's protocol: keepalived's for a tracked rule.
	Protocol uint8  `json:"protocol,omitempty"`
	Tos      uint8  `json:"tos,omitempty"`    // tos, dsfield
	Realms   uint32 `json:"realms,omitempty"` // realms: source << 16 | destination
	// SuppressPrefixlen is suppress_prefixlength; nil when not given.
	SuppressPrefixlen *int `json:"suppress_prefixlength,omitempty"`
	// SuppressIfgroup is suppress_ifgroup; nil when not given.
	SuppressIfgroup *uint32    `json:"suppress_ifgroup,omitempty"`
	UIDRange        *[2]uint32 `json:"uidrange,omitempty"`
	IPProto         *uint8     `json:"ipproto,omitempty"`
	Sport           *[2]uint16 `json:"sport,omitempty"`
	Dport           *[2]uint16 `json:"dport,omitempty"`
	// TrackGroup is a static rule's track_group: its instances track
	// the rule's iif.
	TrackGroup string   `json:"track_group,omitempty"`
	NoTrack    bool     `json:"no_track,omitempty"`
	Options    []string `json:"options,omitempty"`
}

// Fwmark is a rule's fwmark: a mark, and the mask that HasMask says was
// given.
type Fwmark struct {
	Mark    uint32 `json:"mark"`
	Mask    uint32 `json:"mask,omitempty"`
	HasMask bool   `json:"has_mask,omitempty"`
}

// Script is a vrrp_script block.
type Script struct {
	Pos      Pos           `json:"pos,omitzero"`
	Name     string        `json:"name"`
	Cmd      string        `json:"script"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Weight   int           `json:"weight"`
	Reverse  bool          `json:"reverse,omitempty"`
	Rise     int           `json:"rise"`
	Fall     int           `json:"fall"`
	User     string        `json:"user,omitempty"`
	Group    string        `json:"group,omitempty"`
	InitFail bool          `json:"init_fail,omitempty"`

	userPos Pos
}

// TrackFile is a track_file block: a file whose number moves priorities.
type TrackFile struct {
	Pos      Pos    `json:"pos,omitzero"`
	Name     string `json:"name"`
	File     string `json:"file"`
	Weight   int    `json:"weight"`
	Reverse  bool   `json:"reverse,omitempty"`
	InitFile bool   `json:"init_file,omitempty"`
	// InitValue and InitOverwrite are init_file's [VALUE] [overwrite].
	InitValue     int  `json:"init_value,omitempty"`
	InitOverwrite bool `json:"init_overwrite,omitempty"`

	weightSet bool
}

// ParamMatch is how a vrrp_track_process compares a process's arguments
// with its process line.
type ParamMatch string

// The param_match values; ParamMatchNone compares the name alone.
const (
	ParamMatchNone    ParamMatch = ""
	ParamMatchExact   ParamMatch = "exact"
	ParamMatchInitial ParamMatch = "initial"
	ParamMatchPartial ParamMatch = "partial"
)

// TrackProcess is a vrrp_track_process block: a process whose running
// instances, counted against a quorum, move priorities.
type TrackProcess struct {
	Pos         Pos        `json:"pos,omitzero"`
	Name        string     `json:"name"`
	Process     string     `json:"process"`
	Params      []string   `json:"params,omitempty"`
	ParamMatch  ParamMatch `json:"param_match,omitempty"`
	FullCommand bool       `json:"full_command,omitempty"`
	Weight      int        `json:"weight,omitempty"`
	Reverse     bool       `json:"reverse,omitempty"`
	Quorum      uint32     `json:"quorum"`
	QuorumMax   uint32     `json:"quorum_max"`
	// TerminateDelay and ForkDelay are how long a process count must hold
	// before it counts (delay sets both).
	TerminateDelay time.Duration `json:"terminate_delay,omitempty"`
	ForkDelay      time.Duration `json:"fork_delay,omitempty"`

	weightSet bool
}

// Track is one entry of a track_interface, track_script, track_file,
// track_process or track_bfd block. HasWeight says whether the entry set
// its own weight instead of using the tracked object's.
type Track struct {
	Pos       Pos    `json:"pos,omitzero"`
	Name      string `json:"name"`
	Weight    int    `json:"weight"`
	HasWeight bool   `json:"has_weight,omitempty"`
	Reverse   bool   `json:"reverse,omitempty"`
	// NoReverse is track_bfd's "noreverse", which undoes the
	// bfd_instance's reverse.
	NoReverse bool `json:"no_reverse,omitempty"`
}

// Tracking is the tracking an instance or a sync group does.
type Tracking struct {
	Interfaces []Track `json:"track_interface,omitempty"`
	Scripts    []Track `json:"track_script,omitempty"`
	Files      []Track `json:"track_file,omitempty"`
	Processes  []Track `json:"track_process,omitempty"`
	BFDs       []Track `json:"track_bfd,omitempty"`
}

// Notifies is the notify scripts of an instance or a sync group.
type Notifies struct {
	Master           *Notify `json:"notify_master,omitempty"`
	Backup           *Notify `json:"notify_backup,omitempty"`
	Fault            *Notify `json:"notify_fault,omitempty"`
	Stop             *Notify `json:"notify_stop,omitempty"`
	Deleted          *Notify `json:"notify_deleted,omitempty"`
	Any              *Notify `json:"notify,omitempty"`
	MasterRxLowerPri *Notify `json:"notify_master_rx_lower_pri,omitempty"`
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Pos                     Pos      `json:"pos,omitzero"`
	Name                    string   `json:"name"`
	Group                   []string `json:"group"`
	Tracking                Tracking `json:"tracking,omitzero"`
	Notify                  Notifies `json:"notify,omitzero"`
	NotifyPriorityChanges   bool     `json:"notify_priority_changes,omitempty"`
	SMTPAlert               bool     `json:"smtp_alert,omitempty"`
	SyncGroupTrackingWeight bool     `json:"sync_group_tracking_weight,omitempty"`

	notifyPrioritySet bool // notify_priority_changes was written
}

// Auth is an instance's authentication block (VRRPv2 only).
type Auth struct {
	Pos  Pos      `json:"pos,omitzero"`
	Type AuthType `json:"auth_type"`
	Pass string   `json:"auth_pass,omitempty"`
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Pos    Pos        `json:"pos,omitzero"`
	Addr   netip.Addr `json:"addr"`
	MinTTL int        `json:"min_ttl,omitempty"`
	MaxTTL int        `json:"max_ttl,omitempty"`
}

// Instance is a vrrp_instance block.
type Instance struct {
	Pos                Pos           `json:"pos,omitzero"`
	Name               string        `json:"name"`
	State              State         `json:"state"`
	Interface          string        `json:"interface,omitempty"`
	VRF                string        `json:"vrf,omitempty"`
	UseVMAC            bool          `json:"use_vmac,omitempty"`
	VMACName           string        `json:"vmac_name,omitempty"`
	VMACAddr           string        `json:"vmac_addr,omitempty"`
	VMACXmitBase       bool          `json:"vmac_xmit_base,omitempty"`
	NativeIPv6         bool          `json:"native_ipv6,omitempty"`
	DontTrackPrimary   bool          `json:"dont_track_primary,omitempty"`
	Tracking           Tracking      `json:"tracking,omitzero"`
	McastSrcIP         netip.Addr    `json:"mcast_src_ip,omitzero"`
	UnicastSrcIP       netip.Addr    `json:"unicast_src_ip,omitzero"`
	McastDstIP         netip.Addr    `json:"mcast_dst_ip,omitzero"`
	TrackSrcIP         bool          `json:"track_src_ip,omitempty"`
	Version            int           `json:"version"`
	CheckUnicastSrc    bool          `json:"check_unicast_src,omitempty"`
	UnicastPeers       []UnicastPeer `json:"unicast_peer,omitempty"`
	UnicastFaultNoPeer bool          `json:"unicast_fault_no_peer,omitempty"`
	UnicastTTL         int           `json:"unicast_ttl"`

	GarpMasterDelay         time.Duration `json:"garp_master_delay"`
	GarpMasterRepeat        int           `json:"garp_master_repeat"`
	GarpLowerPrioDelay      time.Duration `json:"garp_lower_prio_delay"`
	GarpLowerPrioRepeat     int           `json:"garp_lower_prio_repeat"`
	GarpMasterRefresh       time.Duration `json:"garp_master_refresh"`
	GarpMasterRefreshRepeat int           `json:"garp_master_refresh_repeat"`
	GarpInterval            time.Duration `json:"garp_interval"`
	GnaInterval             time.Duration `json:"gna_interval"`
	// GarpExtraIf is garp_extra_if's delay; All is its "all".
	GarpExtraIf          time.Duration `json:"garp_extra_if,omitempty"`
	GarpExtraIfAll       bool          `json:"garp_extra_if_all,omitempty"`
	DownTimerAdverts     int           `json:"down_timer_adverts"`
	LowerPrioNoAdvert    bool          `json:"lower_prio_no_advert,omitempty"`
	HigherPrioSendAdvert bool          `json:"higher_prio_send_advert,omitempty"`

	VirtualRouterID       int           `json:"virtual_router_id"`
	Priority              int           `json:"priority"`
	AdvertInt             time.Duration `json:"advert_int"`
	Auth                  *Auth         `json:"authentication,omitempty"`
	VirtualIPs            []Address     `json:"virtual_ipaddress,omitempty"`
	ExcludedVIPs          []Address     `json:"virtual_ipaddress_excluded,omitempty"`
	PromoteSecondaries    bool          `json:"promote_secondaries,omitempty"`
	VirtualRoutes         []Route       `json:"virtual_routes,omitempty"`
	VirtualRules          []Rule        `json:"virtual_rules,omitempty"`
	Accept                bool          `json:"accept"`
	Nopreempt             bool          `json:"nopreempt,omitempty"`
	PreemptDelay          time.Duration `json:"preempt_delay,omitempty"`
	SkipCheckAdvAddr      bool          `json:"skip_check_adv_addr,omitempty"`
	StrictMode            bool          `json:"strict_mode,omitempty"`
	Debug                 int           `json:"debug,omitempty"`
	Notify                Notifies      `json:"notify,omitzero"`
	NotifyPriorityChanges bool          `json:"notify_priority_changes,omitempty"`
	SMTPAlert             bool          `json:"smtp_alert,omitempty"`
	// SyncGroup names the vrrp_sync_group the instance belongs to, if any.
	SyncGroup string `json:"sync_group,omitempty"`
	// Other holds keywords that are valid keepalived but that this model
	// does not interpret.
	Other []Raw `json:"other,omitempty"`
	// BFDTakeover is the bfd_takeover extension: the bfd_instance whose
	// Down takes a backup over from its master after the skew time.
	BFDTakeover string `json:"bfd_takeover,omitempty"`

	accept opt[bool]
	set    instanceSet
	ifPos  Pos
	vrfPos Pos
	ttlPos Pos // of unicast_ttl, which needs unicast peers
	endPos Pos // of the closing '}', where keepalived checks the block

	bfdTakeoverPos Pos
}

// HasUnicastTTL reports whether the instance sets unicast_ttl: without
// it, IPv6 adverts to unicast peers carry the kernel's hop limit.
func (in *Instance) HasUnicastTTL() bool { return !in.ttlPos.IsZero() }

// instanceSet records which inheritable settings an instance wrote itself.
type instanceSet struct {
	version, garpMasterDelay, garpMasterRepeat, garpLowerPrioDelay, garpLowerPrioRepeat,
	garpMasterRefresh, garpMasterRefreshRepeat,
	downTimerAdverts, lowerPrioNoAdvert, higherPrioSendAdvert, skipCheckAdvAddr,
	strictMode, checkUnicastSrc, smtpAlert, state, notifyPriorityChanges bool
}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct {
	Pos     Pos         `json:"pos,omitzero"`
	Name    string      `json:"name"`
	Members []VSGMember `json:"members"`
}

// VSGMember is one line of a virtual_server_group: an address (or a range
// of addresses whose last part runs from Addr to Last) and port, or a
// fwmark.
type VSGMember struct {
	Pos    Pos        `json:"pos,omitzero"`
	Addr   netip.Addr `json:"addr,omitzero"`
	Last   netip.Addr `json:"last,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FWMark uint32     `json:"fwmark,omitempty"`
}

// Name identifies the real server the way keepalived's logs do, with the
// protocol of its virtual server: "[10.0.0.11]:tcp:8080".
func (rs *RealServer) Name(vs *VirtualServer) string {
	proto := "none"
	if vs.FWMark == 0 && vs.Protocol != ProtocolNone {
		proto = strings.ToLower(vs.Protocol.String())
	}
	return "[" + rs.Addr.String() + "]:" + proto + ":" + strconv.Itoa(int(rs.Port))
}

// Tunnel is the encapsulation of lvs_method TUN.
type Tunnel struct {
	Type     TunnelType     `json:"type"`
	Port     uint16         `json:"port,omitempty"`
	Checksum TunnelChecksum `json:"checksum,omitempty"`
}

// Forwarding is an LVS forwarding method: NAT, DR or TUN.
type Forwarding struct {
	Method LBKind  `json:"method"`
	Tunnel *Tunnel `json:"tunnel,omitempty"`
}

// SorryServer is a virtual server's sorry_server.
type SorryServer struct {
	Pos        Pos        `json:"pos,omitzero"`
	Addr       netip.Addr `json:"addr"`
	Port       uint16     `json:"port,omitempty"`
	Inhibit    bool       `json:"inhibit,omitempty"`
	Forwarding Forwarding `json:"lvs_method"`
}

// Timing is the checker timing a virtual server, real server and checker
// each may set; the inner block inherits what it does not set. A
// Checker's Timing is final. On a VirtualServer or RealServer, Retry,
// DelayBeforeRetry and Warmup are zero unless that block set them, since
// their defaults depend on the checker type.
type Timing struct {
	DelayLoop        time.Duration `json:"delay_loop"`
	ConnectTimeout   time.Duration `json:"connect_timeout"`
	Retry            int           `json:"retry"`
	DelayBeforeRetry time.Duration `json:"delay_before_retry"`
	Warmup           time.Duration `json:"warmup"`
	Alpha            bool          `json:"alpha,omitempty"`
}

// VirtualServer is a virtual_server block. Exactly one of Addr, FWMark
// and Group says what it is.
type VirtualServer struct {
	Pos    Pos        `json:"pos,omitzero"`
	Addr   netip.Addr `json:"addr,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FWMark uint32     `json:"fwmark,omitempty"`
	Group  string     `json:"group,omitempty"`

	Scheduler              Scheduler    `json:"lvs_sched"`
	SchedFlags             []SchedFlag  `json:"sched_flags,omitempty"`
	OPS                    bool         `json:"ops,omitempty"`
	Forwarding             Forwarding   `json:"lvs_method"`
	PersistenceEngine      string       `json:"persistence_engine,omitempty"`
	PersistenceTimeout     uint32       `json:"persistence_timeout,omitempty"` // seconds; 0: not persistent
	PersistenceGranularity string       `json:"persistence_granularity,omitempty"`
	Protocol               Protocol     `json:"protocol"`
	IPFamily               Family       `json:"ip_family,omitempty"`
	HASuspend              bool         `json:"ha_suspend,omitempty"`
	SMTPAlert              bool         `json:"smtp_alert,omitempty"`
	Virtualhost            string       `json:"virtualhost,omitempty"`
	SNMPName               string       `json:"snmp_name,omitempty"`
	Omega                  bool         `json:"omega,omitempty"`
	Quorum                 uint32       `json:"quorum"`
	Hysteresis             uint32       `json:"hysteresis"`
	QuorumUp               *Notify      `json:"quorum_up,omitempty"`
	QuorumDown             *Notify      `json:"quorum_down,omitempty"`
	SorryServer            *SorryServer `json:"sorry_server,omitempty"`
	InhibitOnFailure       bool         `json:"inhibit_on_failure,omitempty"`
	Timing                 Timing       `json:"timing"`
	RealServers            []RealServer `json:"real_servers,omitempty"`
	Other                  []Raw        `json:"other,omitempty"`

	set          timingSet
	weight       int // the weight keyword; 0 when absent
	fwd          bool
	inh          opt[bool]
	smtp         opt[bool]
	sorryInhibit bool
	sorryFwd     *Forwarding
	protoSet     bool
	schedSet     bool
}

// RealServer is a real_server block.
type RealServer struct {
	Pos              Pos        `json:"pos,omitzero"`
	Addr             netip.Addr `json:"addr"`
	Port             uint16     `json:"port,omitempty"`
	Weight           int        `json:"weight"`
	Forwarding       Forwarding `json:"lvs_method"`
	NotifyUp         *Notify    `json:"notify_up,omitempty"`
	NotifyDown       *Notify    `json:"notify_down,omitempty"`
	UThreshold       uint32     `json:"uthreshold,omitempty"`
	LThreshold       uint32     `json:"lthreshold,omitempty"`
	SMTPAlert        bool       `json:"smtp_alert,omitempty"`
	Virtualhost      string     `json:"virtualhost,omitempty"`
	SNMPName         string     `json:"snmp_name,omitempty"`
	InhibitOnFailure bool       `json:"inhibit_on_failure,omitempty"`
	Timing           Timing     `json:"timing"`
	Checkers         []Checker  `json:"checkers,omitempty"`
	Other            []Raw      `json:"other,omitempty"`

	set       timingSet
	fwd       bool
	inh       opt[bool]
	smtp      opt[bool]
	vhost     bool
	portSet   bool
	weightSet bool
	// written is the port the real_server line gives (0 for none), which
	// checkers connect to by default: keepalived copies the address into
	// each checker as it parses it, before validation sets or resets the
	// real server's port.
	written uint16
}

// timingSet records which Timing fields a block wrote itself.
type timingSet struct {
	delayLoop, connectTimeout, retry, delayBeforeRetry, warmup, alpha bool
}

// Checker kinds, as the keywords that open their blocks.
const (
	HTTPGet   = "HTTP_GET"
	SSLGet    = "SSL_GET"
	TCPCheck  = "TCP_CHECK"
	MiscCheck = "MISC_CHECK"
	SMTPCheck = "SMTP_CHECK"
	DNSCheck  = "DNS_CHECK"
	UDPCheck  = "UDP_CHECK"
	PingCheck = "PING_CHECK"
	FileCheck = "FILE_CHECK"
	BFDCheck  = "BFD_CHECK"
)

// Checker is one health checker of a real server. Type says which of the
// type-specific fields is set.
type Checker struct {
	Pos            Pos        `json:"pos,omitzero"`
	Type           string     `json:"type"`
	ConnectIP      netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort    uint16     `json:"connect_port,omitempty"`
	BindTo         netip.Addr `json:"bindto,omitzero"`
	BindIf         string     `json:"bind_if,omitempty"`
	BindPort       uint16     `json:"bind_port,omitempty"`
	FWMark         uint32     `json:"fwmark,omitempty"`
	LogAllFailures bool       `json:"log_all_failures,omitempty"`
	Timing         Timing     `json:"timing"`

	HTTP *HTTPChecker `json:"http,omitempty"`
	Misc *MiscChecker `json:"misc,omitempty"`
	SMTP *SMTPChecker `json:"smtp,omitempty"`
	DNS  *DNSChecker  `json:"dns,omitempty"`
	UDP  *UDPChecker  `json:"udp,omitempty"`
	File *FileChecker `json:"file,omitempty"`
	BFD  *BFDChecker  `json:"bfd,omitempty"`
	// Other holds keywords that are valid keepalived but that this model
	// does not interpret.
	Other []Raw `json:"other,omitempty"`

	set timingSet
}

// HTTPChecker is the HTTP_GET / SSL_GET specific part of a Checker.
type HTTPChecker struct {
	Protocol     HTTPProtocol `json:"http_protocol"`
	FastRecovery bool         `json:"fast_recovery,omitempty"`
	EnableSNI    bool         `json:"enable_sni,omitempty"`
	Virtualhost  string       `json:"virtualhost,omitempty"`
	URLs         []URL        `json:"urls"`
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// URL is one url block of an HTTP_GET or SSL_GET checker.
type URL struct {
	Pos            Pos           `json:"pos,omitzero"`
	Path           string        `json:"path"`
	Digest         string        `json:"digest,omitempty"`
	StatusCodes    []StatusRange `json:"status_code,omitempty"`
	Virtualhost    string        `json:"virtualhost,omitempty"`
	Regex          string        `json:"regex,omitempty"`
	RegexNoMatch   bool          `json:"regex_no_match,omitempty"`
	RegexOptions   []string      `json:"regex_options,omitempty"`
	RegexMinOffset int           `json:"regex_min_offset,omitempty"`
	RegexMaxOffset int           `json:"regex_max_offset,omitempty"`
	// RegexStack is the JIT stack's start and maximum size in bytes.
	RegexStack [2]int `json:"regex_stack,omitzero"`
}

// MiscChecker is the MISC_CHECK specific part of a Checker.
type MiscChecker struct {
	Path    string        `json:"misc_path"`
	Timeout time.Duration `json:"misc_timeout,omitempty"`
	Dynamic bool          `json:"misc_dynamic,omitempty"`
	User    string        `json:"user,omitempty"`
	Group   string        `json:"group,omitempty"`
}

// SMTPChecker is the SMTP_CHECK specific part of a Checker.
type SMTPChecker struct {
	HeloName string `json:"helo_name"`

	// hosts are the connections of the block's host blocks while it is
	// read; each becomes an SMTP_CHECK of its own when it closes.
	hosts []Checker
}

// DNSChecker is the DNS_CHECK specific part of a Checker.
type DNSChecker struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// UDPChecker is the UDP_CHECK specific part of a Checker. In ReplyMask a
// zero nibble is one the reply may have any value in (an 'x' in the
// configuration).
type UDPChecker struct {
	Payload        []byte `json:"payload,omitempty"`
	RequireReply   bool   `json:"require_reply,omitempty"`
	Reply          []byte `json:"reply,omitempty"`
	ReplyMask      []byte `json:"reply_mask,omitempty"`
	MinReplyLength int    `json:"min_reply_length"`
	MaxReplyLength int    `json:"max_reply_length"`
}

// FileChecker is the FILE_CHECK specific part of a Checker.
type FileChecker struct {
	TrackFile string `json:"track_file"`
	Weight    int    `json:"weight"`
	Reverse   bool   `json:"reverse,omitempty"`
}

// BFDChecker is the BFD_CHECK specific part of a Checker.
type BFDChecker struct {
	Name string `json:"name"`

	namePos Pos
}

// SSL is the top-level SSL block used by SSL_GET checkers.
type SSL struct {
	Pos         Pos    `json:"pos,omitzero"`
	Password    string `json:"password,omitempty"`
	CA          string `json:"ca,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	Key         string `json:"key,omitempty"`
}

// opt is a value and whether the configuration set it.
type opt[T any] struct {
	v   T
	set bool
}

// IDSet says whether the lvs_sync_daemon line gave its id: without one,
// SyncID is the instance's VRID, which only keepalived's VRRP process
// learns.
func (sd *LVSSyncDaemon) IDSet() bool { return sd.idSet }

// OwnVirtualhost is the real server's own virtualhost keyword, "" when
// it takes its virtual server's (Virtualhost then holds that one).
func (rs *RealServer) OwnVirtualhost() string {
	if !rs.vhost {
		return ""
	}
	return rs.Virtualhost
}

// Weight is the virtual server's weight keyword, the weight of its real
// servers that set none: 1 when absent, keepalived's default.
func (vs *VirtualServer) Weight() int {
	if vs.weight == 0 {
		return 1
	}
	return vs.weight
}

// Name identifies the virtual server the way keepalived's logs do:
// "[10.0.0.1]:tcp:80", "FWM 1" or, for a group, "[web]:0".
func (vs *VirtualServer) Name() string {
	switch {
	case vs.Group != "":
		return "[" + vs.Group + "]:0"
	case vs.FWMark != 0:
		return "FWM " + strconv.FormatUint(uint64(vs.FWMark), 10)
	}
	proto := "none"
	if vs.Protocol != ProtocolNone {
		proto = strings.ToLower(vs.Protocol.String())
	}
	return "[" + vs.Addr.String() + "]:" + proto + ":" + strconv.Itoa(int(vs.Port))
}

// DefaultInterface is keepalived's DFLT_INT: the interface of a static
// address without dev when default_interface names none.
const DefaultInterface = "eth0"

// GarpGroup is a garp_group block: the intervals between the gratuitous
// ARPs (garp_interval) and the unsolicited neighbour adverts
// (gna_interval) sent on its interfaces, in place of vrrp_garp_interval
// and vrrp_gna_interval there. An interval not given is none.
type GarpGroup struct {
	Pos          Pos           `json:"pos,omitzero"`
	GarpInterval time.Duration `json:"garp_interval,omitempty"`
	GnaInterval  time.Duration `json:"gna_interval,omitempty"`
	HasGarp      bool          `json:"has_garp_interval,omitempty"`
	HasGna       bool          `json:"has_gna_interval,omitempty"`
	Interfaces   []string      `json:"interfaces,omitempty"`
	// aggregation is keepalived's number for a group with an interfaces
	// block, which its messages name the group by; 0 without.
	aggregation int
	ifPos       []Pos // the position of each interface
}
