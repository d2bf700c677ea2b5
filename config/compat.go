package config

import "strings"

// keywordAt is a keyword in the block it is written in, named as
// testdata/keepalived-keywords.txt names blocks.
type keywordAt struct {
	block, keyword string
}

// implementedTable lists every keyword gokeepalived acts on, one a line:
// the block, the keyword, the model fields its value ends up in
// (Type.Field; code outside this package reads at least one of them, and
// a test checks it), and the test that shows its effect with the file it
// is in. A keyword keepalived accepts that is not listed here nor in
// notApplicableTable is reported as unimplemented wherever it is used,
// and docs/compatibility.md lists it as warned.
const implementedTable = `
top global_defs Config.Global TestKeepalivedSMTP notify/smtp_test.go
top vrrp_instance Config.Instances TestDaemonReloadNotifyOutputs cmd/gokeepalived/reload_test.go
top vrrp_sync_group Config.SyncGroups TestNotifyMailsStateOnce internal/vrrpd/vrrpd_test.go
top vrrp_script Config.Scripts TestRouterTracking vrrp/tracklab_test.go
top track_file Config.TrackFiles TestInitTrackFiles internal/vrrpd/vrrpd_test.go
top vrrp_track_file Config.TrackFiles TestInitTrackFiles internal/vrrpd/vrrpd_test.go
top virtual_server Config.VirtualServers TestServices internal/lvs/table_test.go
top virtual_server_group Config.VirtualServerGroups TestServices internal/lvs/table_test.go
top SSL Config.SSL TestSSLGet check/http_test.go
top track_group Config.TrackGroups TestDaemonTrackGroupBesideKeepalived cmd/gokeepalived/trackgroup_test.go
track_group group TrackGroup.Group TestDaemonTrackGroupBesideKeepalived cmd/gokeepalived/trackgroup_test.go
global_defs router_id Global.RouterID TestKeepalivedSMTP notify/smtp_test.go
global_defs notification_email Global.NotificationEmail TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
global_defs notification_email_from Global.NotificationEmailFrom TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
global_defs lvs_flush_on_stop Global.LVSFlushOnStop TestGuestFlushOnStop test/e2e/lvs/settings_test.go
global_defs lvs_flush_onstop Global.LVSFlushOnStop TestGuestFlushOnStop test/e2e/lvs/settings_test.go
global_defs smtp_alert_checker Global.SMTPAlertChecker,RealServer.SMTPAlert TestCheckerAlertsSMTPAlertChecker internal/checkerd/alerts_test.go
global_defs smtp_alert_vrrp Global.SMTPAlertVRRP,Instance.SMTPAlert TestDaemonSMTPAlertVRRPBesideKeepalived cmd/gokeepalived/smtp_test.go
global_defs default_interface Global.DefaultInterface TestStaticEntriesMatchKeepalived internal/vrrpd/static_lab_test.go
global_defs vmac_prefix Global.VMACPrefix TestVMACNamesAndAddressesAsKeepalived internal/vrrpd/vmac_lab_test.go
global_defs smtp_server Global.SMTPServer,Global.SMTPPort TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
global_defs smtp_helo_name Global.SMTPHeloName TestKeepalivedSMTP notify/smtp_test.go
global_defs smtp_connect_timeout Global.SMTPConnectTimeout TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
global_defs smtp_alert Global.SMTPAlert TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
global_defs no_checker_emails Global.NoCheckerEmails TestCheckerAlertsNoCheckerEmails internal/checkerd/alerts_test.go
global_defs enable_script_security Global.EnableScriptSecurity TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
global_defs enable_dbus Global.EnableDBus TestDaemonDBusBesideKeepalived cmd/gokeepalived/dbus_test.go
global_defs enable_snmp_vrrp Global.EnableSNMPVRRP TestSNMPKeepalivedVRRPMIB cmd/gokeepalived/snmp_vrrp_test.go
global_defs enable_snmp_keepalived Global.EnableSNMPVRRP TestSNMPKeepalivedVRRPOptions cmd/gokeepalived/snmp_vrrp_test.go
global_defs enable_traps Global.EnableTraps TestSNMPKeepalivedVRRPMIB cmd/gokeepalived/snmp_vrrp_test.go
global_defs snmp_socket Global.SNMPSocket TestSNMPKeepalivedVRRPOptions cmd/gokeepalived/snmp_vrrp_test.go
global_defs dbus_service_name Global.DBusServiceName TestDaemonDBusBesideKeepalived cmd/gokeepalived/dbus_test.go
global_defs enable_snmp_rfc Global.EnableSNMPRFCv2,Global.EnableSNMPRFCv3 TestSNMPRFCMatchesKeepalived cmd/gokeepalived/snmp_rfc_test.go
global_defs enable_snmp_rfcv2 Global.EnableSNMPRFCv2 TestSNMPRFCMatchesKeepalived cmd/gokeepalived/snmp_rfc_test.go
global_defs enable_snmp_rfcv3 Global.EnableSNMPRFCv3 TestSNMPRFCMatchesKeepalived cmd/gokeepalived/snmp_rfc_test.go
global_defs script_user Global.ScriptUser,Global.ScriptGroup TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
global_defs umask Global.Umask TestDaemonFilesAndUmask cmd/gokeepalived/files_test.go
global_defs notify_fifo Global.NotifyFIFO TestNotifierMatchesKeepalived notify/notifier_test.go
global_defs notify_fifo_script Global.NotifyFIFO TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
global_defs vrrp_notify_fifo Global.VRRPNotifyFIFO TestNotifierMatchesKeepalived notify/notifier_test.go
global_defs vrrp_notify_fifo_script Global.VRRPNotifyFIFO TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
global_defs lvs_notify_fifo_script Global.LVSNotifyFIFO TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
global_defs lvs_notify_fifo Global.LVSNotifyFIFO TestNotifierMatchesKeepalivedLVS notify/lvs_test.go
global_defs lvs_flush Global.LVSFlush TestGuestCheckerLoopTakesOver cmd/gokeepalived/contain_kernel_test.go
global_defs lvs_sync_daemon Global.LVSSyncDaemon TestGuestSyncDaemon test/e2e/lvs/director_test.go
global_defs lvs_timeouts Global.LVSTimeouts TestGuestReloadTimeouts test/e2e/lvs/settings_test.go
global_defs enable_snmp_checker Global.EnableSNMPChecker TestGuestSNMPChecker cmd/gokeepalived/snmp_check_test.go
global_defs checker_log_all_failures Global.CheckerLogAllFailures TestLogAllFailuresWording check/failures_test.go
SSL password SSL.Password TestSSLGetPasswordProtectedKey check/tlskey_test.go
global_defs no_email_faults Global.NoEmailFaults TestNoEmailFaults internal/vrrpd/vrrpd_test.go
global_defs vrrp_strict Instance.StrictMode,Instance.Accept TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
global_defs nftables Global.NFTables TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
global_defs nftables_priority Global.NFTablesPriority TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
global_defs nftables_ifindex Global.NFTablesIfindex TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
global_defs nftables_counters Global.NFTablesCounters TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
vrrp_instance accept Instance.Accept TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
vrrp_instance no_accept Instance.Accept TestStrictFirewallEqualsKeepalived internal/vrrpd/strict_lab_test.go
top vrrp_track_process Config.TrackProcesses TestTrackProcessFailover internal/vrrpd/trackprocess_lab_test.go
vrrp_track_process process TrackProcess.Process TestMatch internal/proctrack/match_test.go
vrrp_track_process param_match TrackProcess.ParamMatch,TrackProcess.Params TestMatch internal/proctrack/match_test.go
vrrp_track_process full_command TrackProcess.FullCommand TestMatch internal/proctrack/match_test.go
top net_namespace Global.NetNamespace TestDaemonNetNamespace cmd/gokeepalived/netns_test.go
top instance Global.InstanceName TestDaemonNamespaceOption cmd/gokeepalived/netns_test.go
top use_pid_dir Global.UsePidDir TestDaemonInstancePidDir cmd/gokeepalived/netns_test.go
vrrp_track_process weight TrackProcess.Weight,TrackProcess.Reverse TestTrackProcessFailover internal/vrrpd/trackprocess_lab_test.go
vrrp_track_process quorum TrackProcess.Quorum TestQuorum internal/proctrack/match_test.go
vrrp_track_process quorum_max TrackProcess.QuorumMax TestQuorumNone internal/proctrack/match_test.go
vrrp_track_process delay TrackProcess.TerminateDelay,TrackProcess.ForkDelay TestDelays internal/proctrack/match_test.go
vrrp_track_process terminate_delay TrackProcess.TerminateDelay TestDelays internal/proctrack/match_test.go
vrrp_track_process fork_delay TrackProcess.ForkDelay TestDelays internal/proctrack/match_test.go
vrrp_instance track_process Tracking.Processes TestTrackProcessFailover internal/vrrpd/trackprocess_lab_test.go
vrrp_sync_group track_process Tracking.Processes TestPlanTrackProcess internal/vrrpd/trackprocess_test.go
top static_ipaddress Config.StaticAddresses TestStaticEntriesMatchKeepalived internal/vrrpd/static_lab_test.go
top static_routes Config.StaticRoutes TestStaticEntriesMatchKeepalived internal/vrrpd/static_lab_test.go
top static_rules Config.StaticRules TestStaticEntriesMatchKeepalived internal/vrrpd/static_lab_test.go
vrrp_instance virtual_rules Instance.VirtualRules TestVirtualRulesLeaveWithMaster internal/vrrpd/static_lab_test.go
global_defs rs_init_notifies Global.RSInitNotifies TestInitNotifies internal/lvs/state_test.go
global_defs vrrp_mcast_group4 Global.VRRPMcastGroup4 TestDaemonAdvertsBesideKeepalived cmd/gokeepalived/wire_test.go
global_defs vrrp_mcast_group6 Global.VRRPMcastGroup6 TestDaemonAdvertsBesideKeepalived cmd/gokeepalived/wire_test.go
global_defs startup_script Global.StartupScript TestDaemonStartupShutdownScriptsBesideKeepalived cmd/gokeepalived/startstop_test.go
global_defs startup_script_timeout Global.StartupScriptTimeout TestDaemonStartupShutdownScriptsBesideKeepalived cmd/gokeepalived/startstop_test.go
global_defs shutdown_script Global.ShutdownScript TestDaemonStartupShutdownScriptsBesideKeepalived cmd/gokeepalived/startstop_test.go
global_defs shutdown_script_timeout Global.ShutdownScriptTimeout TestDaemonStartupShutdownScriptsBesideKeepalived cmd/gokeepalived/startstop_test.go
global_defs dynamic_interfaces Global.DynamicInterfaces TestDaemonDynamicInterfacesBesideKeepalived cmd/gokeepalived/dynamic_test.go
vrrp_instance unicast_ttl Instance.UnicastTTL TestDaemonUnicastTTLBesideKeepalived cmd/gokeepalived/unicastttl_test.go
vrrp_instance unicast_fault_no_peer Instance.UnicastFaultNoPeer TestDaemonUnicastFaultNoPeerBesideKeepalived cmd/gokeepalived/unicastfault_test.go
vrrp_instance strict_mode Instance.StrictMode,Instance.Accept TestStrictModeInstanceEqualsKeepalived internal/vrrpd/strictmode_lab_test.go
global_defs fifo_write_vrrp_states_on_reload Global.FIFOWriteVRRPStatesOnReload TestDaemonFIFOStatesOnReloadBesideKeepalived cmd/gokeepalived/fiforeload_test.go
vrrp_instance promote_secondaries Instance.PromoteSecondaries TestDaemonPromoteSecondariesBesideKeepalived cmd/gokeepalived/promote_test.go
global_defs vrrp_garp_interval Instance.GarpInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
global_defs vrrp_gna_interval Instance.GnaInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
top garp_group Config.GarpGroups,Instance.GarpInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
garp_group garp_interval GarpGroup.GarpInterval,Instance.GarpInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
garp_group gna_interval GarpGroup.GnaInterval,Instance.GnaInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
garp_group interface GarpGroup.Interfaces,Instance.GarpInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
garp_group interfaces GarpGroup.Interfaces,Instance.GarpInterval TestDaemonGarpIntervalBesideKeepalived cmd/gokeepalived/garp_test.go
top bfd_instance Config.BFDInstances TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance neighbor_ip BFDInstance.Neighbor TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance neighbour_ip BFDInstance.Neighbor TestDaemonBFDHopsBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance source_ip BFDInstance.Source TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance min_rx BFDInstance.MinRx TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance min_tx BFDInstance.MinTx TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance idle_tx BFDInstance.IdleTx TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance multiplier BFDInstance.Multiplier TestDaemonBFDBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance passive BFDInstance.Passive TestSessionPassive bfd/session_test.go
bfd_instance ttl BFDInstance.TTL TestDaemonBFDHopsBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance hoplimit BFDInstance.TTL TestDaemonBFDHopsBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance max_hops BFDInstance.MaxHops TestDaemonBFDHopsBesideKeepalived cmd/gokeepalived/bfd_test.go
bfd_instance weight BFDInstance.Weight,BFDInstance.WeightReverse TestDaemonTrackBFDBesideKeepalived cmd/gokeepalived/trackbfd_test.go
bfd_instance vrrp BFDInstance.VRRP TestPlanTrackBFD internal/vrrpd/trackbfd_test.go
bfd_instance checker BFDInstance.Checker TestGuestBFDCheck cmd/gokeepalived/bfdcheck_kernel_test.go
vrrp_instance track_bfd Tracking.BFDs TestDaemonTrackBFDBesideKeepalived cmd/gokeepalived/trackbfd_test.go
vrrp_sync_group track_bfd Tracking.BFDs TestDaemonTrackBFDBesideKeepalived cmd/gokeepalived/trackbfd_test.go
vrrp_instance garp_extra_if Instance.GarpExtraIf,Instance.GarpExtraIfAll TestDaemonGarpExtraIfBesideKeepalived cmd/gokeepalived/garpextra_test.go
global_defs vrrp_garp_extra_if Global.VRRPGarpExtraIf,Global.VRRPGarpExtraIfAll TestDaemonGarpExtraIfBesideKeepalived cmd/gokeepalived/garpextra_test.go
vrrp_instance vmac_garp_intvl Instance.GarpExtraIf,Instance.GarpExtraIfAll TestDaemonGarpExtraIfBesideKeepalived cmd/gokeepalived/garpextra_test.go
global_defs vrrp_vmac_garp_intvl Global.VRRPGarpExtraIf,Global.VRRPGarpExtraIfAll TestDaemonGarpExtraIfBesideKeepalived cmd/gokeepalived/garpextra_test.go
global_defs vrrp_startup_delay Global.VRRPStartupDelay TestDaemonStartupDelayBesideKeepalived cmd/gokeepalived/startupdelay_test.go
global_defs vrrp_notify_priority_changes Instance.NotifyPriorityChanges TestDaemonNotifyPriorityChangesBesideKeepalived cmd/gokeepalived/priochange_test.go
vrrp_instance mcast_src_ip Instance.McastSrcIP TestDaemonAdvertsBesideKeepalived cmd/gokeepalived/wire_test.go
vrrp_instance mcast_dst_ip Instance.McastDstIP TestDaemonAdvertsBesideKeepalived cmd/gokeepalived/wire_test.go
vrrp_script timeout Script.Timeout TestDaemonAdvertsBesideKeepalived cmd/gokeepalived/wire_test.go
vrrp_instance notify_priority_changes Instance.NotifyPriorityChanges TestDaemonNotifyPriorityChangesBesideKeepalived cmd/gokeepalived/priochange_test.go
vrrp_sync_group notify_priority_changes Instance.NotifyPriorityChanges TestNotifyPriorityChangesInheritance config/parse_test.go
global_defs vrrp_garp_master_delay Instance.GarpMasterDelay TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
global_defs vrrp_garp_master_repeat Instance.GarpMasterRepeat TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
global_defs vrrp_garp_lower_prio_delay Instance.GarpLowerPrioDelay TestMasterReceive vrrp/instance_test.go
global_defs vrrp_garp_lower_prio_repeat Instance.GarpLowerPrioRepeat TestMasterReceive vrrp/instance_test.go
global_defs vrrp_garp_master_refresh Instance.GarpMasterRefresh TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
global_defs vrrp_garp_master_refresh_repeat Instance.GarpMasterRefreshRepeat TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
global_defs vrrp_min_garp Instance.GarpMasterRepeat,Instance.GarpMasterRefresh TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
global_defs vrrp_lower_prio_no_advert Instance.LowerPrioNoAdvert TestMasterReceive vrrp/instance_test.go
global_defs vrrp_higher_prio_send_advert Instance.HigherPrioSendAdvert TestMasterReceive vrrp/instance_test.go
global_defs vrrp_version Instance.Version TestInteropKeepalived vrrp/interop_test.go
global_defs vrrp_skip_check_adv_addr Instance.SkipCheckAdvAddr TestReceiveDrops vrrp/instance_test.go
global_defs vrrp_check_unicast_src Instance.CheckUnicastSrc TestReceiveDrops vrrp/instance_test.go
global_defs vrrp_down_timer_adverts Instance.DownTimerAdverts TestMasterDownInterval vrrp/instance_test.go
vrrp_script script Script.Cmd TestScriptState vrrp/track_test.go
vrrp_script interval Script.Interval TestDaemonScriptSecurityBesideKeepalived cmd/gokeepalived/security_diff_test.go
vrrp_script weight Script.Weight,Script.Reverse TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_script rise Script.Rise TestScriptState vrrp/track_test.go
vrrp_script fall Script.Fall TestScriptState vrrp/track_test.go
vrrp_script user Script.User,Script.Group TestDaemonScriptSecurity cmd/gokeepalived/security_test.go
track_file file TrackFile.File TestInitTrackFiles internal/vrrpd/vrrpd_test.go
track_file weight TrackFile.Weight TestInitTrackFiles internal/vrrpd/vrrpd_test.go
track_file init_file TrackFile.InitFile,TrackFile.InitValue,TrackFile.InitOverwrite TestInitTrackFiles internal/vrrpd/vrrpd_test.go
vrrp_track_file file TrackFile.File TestInitTrackFiles internal/vrrpd/vrrpd_test.go
vrrp_track_file weight TrackFile.Weight TestInitTrackFiles internal/vrrpd/vrrpd_test.go
vrrp_track_file init_file TrackFile.InitFile,TrackFile.InitValue,TrackFile.InitOverwrite TestInitTrackFiles internal/vrrpd/vrrpd_test.go
vrrp_sync_group group SyncGroup.Group TestNotifyMailsStateOnce internal/vrrpd/vrrpd_test.go
vrrp_sync_group track_interface SyncGroup.Tracking TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_sync_group track_script SyncGroup.Tracking TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_sync_group track_file SyncGroup.Tracking TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_sync_group notify_backup SyncGroup.Notify TestNotifierEvents notify/notifier_test.go
vrrp_sync_group notify_master SyncGroup.Notify TestNotifierEvents notify/notifier_test.go
vrrp_sync_group notify_fault SyncGroup.Notify TestNotifierEvents notify/notifier_test.go
vrrp_sync_group notify_stop SyncGroup.Notify TestNotifierEvents notify/notifier_test.go
vrrp_sync_group notify SyncGroup.Notify TestNotifierEvents notify/notifier_test.go
vrrp_sync_group smtp_alert SyncGroup.SMTPAlert TestNotifyMailsStateOnce internal/vrrpd/vrrpd_test.go
vrrp_sync_group sync_group_tracking_weight SyncGroup.SyncGroupTrackingWeight TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_instance lvs_sync_daemon_interface Global.LVSSyncDaemon TestGuestSyncDaemonInterface test/e2e/lvs/director_test.go
vrrp_instance debug Instance.Debug TestDaemonDataFile cmd/gokeepalived/datafile_test.go
vrrp_sync_group global_tracking SyncGroup.SyncGroupTrackingWeight TestPlanSyncGroupTracking internal/vrrpd/vrrpd_test.go
vrrp_instance interface Instance.Interface TestRouterStartup vrrp/router_test.go
vrrp_instance use_vmac Instance.UseVMAC,Instance.VMACName,Instance.VMACAddr TestVMACNamesAndAddressesAsKeepalived internal/vrrpd/vmac_lab_test.go
vrrp_instance vmac_xmit_base Instance.VMACXmitBase TestRouterVMACXmitBase vrrp/vmac6_test.go
vrrp_instance dont_track_primary Instance.DontTrackPrimary TestTrackApply vrrp/instance_test.go
vrrp_instance track_interface Instance.Tracking TestDaemonTrackInterfaceReverseBesideKeepalived cmd/gokeepalived/trackif_test.go
vrrp_instance track_script Instance.Tracking TestRouterTracking vrrp/tracklab_test.go
vrrp_instance track_file Instance.Tracking TestInitTrackFiles internal/vrrpd/vrrpd_test.go
vrrp_instance unicast_src_ip Instance.UnicastSrcIP TestRouterCheckUnicastSrc vrrp/extras_test.go
vrrp_instance unicast_peer Instance.UnicastPeers TestRouterCheckUnicastSrc vrrp/extras_test.go
vrrp_instance check_unicast_src Instance.CheckUnicastSrc TestRouterCheckUnicastSrc vrrp/extras_test.go
vrrp_instance virtual_router_id Instance.VirtualRouterID TestInteropKeepalived vrrp/interop_test.go
vrrp_instance version Instance.Version TestInteropKeepalived vrrp/interop_test.go
vrrp_instance priority Instance.Priority TestRouterPreempt vrrp/router_test.go
vrrp_instance advert_int Instance.AdvertInt TestReconfigure vrrp/reconfigure_test.go
vrrp_instance virtual_ipaddress Instance.VirtualIPs TestDaemonReloadNotifyOutputs cmd/gokeepalived/reload_test.go
vrrp_instance virtual_ipaddress_excluded Instance.ExcludedVIPs TestRouterExcludedAndRoutes vrrp/extras_test.go
vrrp_instance virtual_routes Instance.VirtualRoutes TestRouterExcludedAndRoutes vrrp/extras_test.go
vrrp_instance skip_check_adv_addr Instance.SkipCheckAdvAddr TestReceiveDrops vrrp/instance_test.go
vrrp_instance preempt Instance.Nopreempt TestRouterPreempt vrrp/router_test.go
vrrp_instance nopreempt Instance.Nopreempt TestRouterPreempt vrrp/router_test.go
vrrp_instance preempt_delay Instance.PreemptDelay TestBackupReceive vrrp/instance_test.go
vrrp_instance notify_backup Instance.Notify TestNotifierEvents notify/notifier_test.go
vrrp_instance notify_master Instance.Notify TestKeepalivedScriptSecurity notify/keepalived_test.go
vrrp_instance notify_fault Instance.Notify TestNotifierEvents notify/notifier_test.go
vrrp_instance notify_stop Instance.Notify TestNotifierEvents notify/notifier_test.go
vrrp_instance notify_deleted Instance.Notify TestDaemonReloadStartsVRRP cmd/gokeepalived/reload_test.go
vrrp_instance notify Instance.Notify TestNotifierEvents notify/notifier_test.go
vrrp_instance notify_master_rx_lower_pri Instance.Notify TestDaemonMasterRxLowerPri cmd/gokeepalived/hostile_test.go
vrrp_instance smtp_alert Instance.SMTPAlert TestDaemonSMTPAlert cmd/gokeepalived/smtp_test.go
vrrp_instance garp_master_delay Instance.GarpMasterDelay TestRouterReload vrrp/reload_test.go
vrrp_instance garp_master_refresh Instance.GarpMasterRefresh TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
vrrp_instance garp_master_repeat Instance.GarpMasterRepeat TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
vrrp_instance garp_master_refresh_repeat Instance.GarpMasterRefreshRepeat TestMasterAdvertisesAndAnnounces vrrp/instance_test.go
vrrp_instance garp_lower_prio_delay Instance.GarpLowerPrioDelay TestMasterReceive vrrp/instance_test.go
vrrp_instance garp_lower_prio_repeat Instance.GarpLowerPrioRepeat TestMasterReceive vrrp/instance_test.go
vrrp_instance down_timer_adverts Instance.DownTimerAdverts TestMasterDownInterval vrrp/instance_test.go
vrrp_instance lower_prio_no_advert Instance.LowerPrioNoAdvert TestMasterReceive vrrp/instance_test.go
vrrp_instance higher_prio_send_advert Instance.HigherPrioSendAdvert TestMasterReceive vrrp/instance_test.go
vrrp_instance authentication Instance.Auth TestInteropKeepalived vrrp/interop_test.go
vrrp_instance/authentication auth_type Auth.Type TestAHKeepalived vrrp/ah_test.go
vrrp_instance/authentication auth_pass Auth.Pass TestInteropKeepalived vrrp/interop_test.go
SSL ca SSL.CA TestSSLGet check/http_test.go
SSL certificate SSL.Certificate TestSSLGet check/http_test.go
SSL key SSL.Key TestSSLGetKeyFile internal/lvs/sslkey_test.go
virtual_server ip_family VirtualServer.IPFamily TestServices internal/lvs/table_test.go
virtual_server snmp_name VirtualServer.SNMPName TestGuestSNMPChecker cmd/gokeepalived/snmp_check_test.go
virtual_server/real_server snmp_name RealServer.SNMPName TestGuestSNMPChecker cmd/gokeepalived/snmp_check_test.go
virtual_server persistence_engine VirtualServer.PersistenceEngine TestGuestDifferential test/e2e/lvs/differential_test.go
virtual_server retry Timing.Retry TestSchedulerTiming check/scheduler_test.go
virtual_server delay_before_retry Timing.DelayBeforeRetry TestSchedulerTiming check/scheduler_test.go
virtual_server warmup Timing.Warmup TestSchedulerWarmupAndJitterBounds check/scheduler_test.go
virtual_server connect_timeout Timing.ConnectTimeout TestCheckServerMapping internal/lvs/checks_test.go
virtual_server delay_loop Timing.DelayLoop TestSchedulerTiming check/scheduler_test.go
virtual_server inhibit_on_failure RealServer.InhibitOnFailure TestScenarios internal/lvs/state_test.go
virtual_server lb_algo VirtualServer.Scheduler TestServices internal/lvs/table_test.go
virtual_server lvs_sched VirtualServer.Scheduler TestServices internal/lvs/table_test.go
virtual_server ops VirtualServer.OPS TestEveryConfigValueMaps internal/lvs/table_test.go
virtual_server flag-1 VirtualServer.SchedFlags TestEveryConfigValueMaps internal/lvs/table_test.go
virtual_server flag-2 VirtualServer.SchedFlags TestEveryConfigValueMaps internal/lvs/table_test.go
virtual_server flag-3 VirtualServer.SchedFlags TestEveryConfigValueMaps internal/lvs/table_test.go
virtual_server sh-port VirtualServer.SchedFlags TestServices internal/lvs/table_test.go
virtual_server sh-fallback VirtualServer.SchedFlags TestServices internal/lvs/table_test.go
virtual_server mh-port VirtualServer.SchedFlags TestGuestReconcileServices ipvs/kernel_test.go
virtual_server mh-fallback VirtualServer.SchedFlags TestEveryConfigValueMaps internal/lvs/table_test.go
virtual_server lb_kind VirtualServer.Forwarding TestServices internal/lvs/table_test.go
virtual_server lvs_method VirtualServer.Forwarding TestServices internal/lvs/table_test.go
virtual_server persistence_timeout VirtualServer.PersistenceTimeout TestServices internal/lvs/table_test.go
virtual_server persistence_granularity VirtualServer.PersistenceGranularity TestServices internal/lvs/table_test.go
virtual_server protocol VirtualServer.Protocol TestServices internal/lvs/table_test.go
virtual_server ha_suspend VirtualServer.HASuspend TestHASuspend internal/lvs/lvs_test.go
virtual_server smtp_alert VirtualServer.SMTPAlert TestCheckerAlerts internal/checkerd/alerts_test.go
virtual_server virtualhost HTTPChecker.Virtualhost TestCheckServerMapping internal/lvs/checks_test.go
virtual_server alpha Timing.Alpha TestSchedulerConfirmsAlphaFirstFailure check/scheduler_test.go
virtual_server omega VirtualServer.Omega TestShutdown internal/lvs/state_test.go
virtual_server quorum_up VirtualServer.QuorumUp TestKernel internal/lvs/kernel_test.go
virtual_server quorum_down VirtualServer.QuorumDown TestKernel internal/lvs/kernel_test.go
virtual_server quorum VirtualServer.Quorum TestQuorumHysteresis internal/lvs/state_test.go
virtual_server hysteresis VirtualServer.Hysteresis TestQuorumHysteresis internal/lvs/state_test.go
virtual_server sorry_server VirtualServer.SorryServer TestScenarios internal/lvs/state_test.go
virtual_server sorry_server_inhibit SorryServer.Inhibit TestScenarios internal/lvs/state_test.go
virtual_server sorry_server_lvs_method SorryServer.Forwarding TestServices internal/lvs/table_test.go
virtual_server real_server VirtualServer.RealServers TestServices internal/lvs/table_test.go
virtual_server/real_server weight RealServer.Weight TestServices internal/lvs/table_test.go
virtual_server/real_server lvs_method RealServer.Forwarding TestServices internal/lvs/table_test.go
virtual_server/real_server uthreshold RealServer.UThreshold TestServices internal/lvs/table_test.go
virtual_server/real_server lthreshold RealServer.LThreshold TestServices internal/lvs/table_test.go
virtual_server/real_server inhibit_on_failure RealServer.InhibitOnFailure TestScenarios internal/lvs/state_test.go
virtual_server/real_server notify_up RealServer.NotifyUp TestScriptSecurityNotifyScripts internal/lvs/security_test.go
virtual_server/real_server notify_down RealServer.NotifyDown TestScriptSecurityNotifyScripts internal/lvs/security_test.go
virtual_server/real_server alpha Timing.Alpha TestSchedulerConfirmsAlphaFirstFailure check/scheduler_test.go
virtual_server/real_server retry Timing.Retry TestSchedulerTiming check/scheduler_test.go
virtual_server/real_server delay_before_retry Timing.DelayBeforeRetry TestSchedulerTiming check/scheduler_test.go
virtual_server/real_server warmup Timing.Warmup TestSchedulerWarmupAndJitterBounds check/scheduler_test.go
virtual_server/real_server connect_timeout Timing.ConnectTimeout TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server delay_loop Timing.DelayLoop TestSchedulerTiming check/scheduler_test.go
virtual_server/real_server smtp_alert RealServer.SMTPAlert TestCheckerAlerts internal/checkerd/alerts_test.go
virtual_server/real_server virtualhost HTTPChecker.Virtualhost TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server HTTP_GET RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server SSL_GET RealServer.Checkers TestChecksTimeOutOnSilentServer check/netns_test.go
virtual_server/real_server TCP_CHECK RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server MISC_CHECK RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server SMTP_CHECK RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server DNS_CHECK RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server UDP_CHECK RealServer.Checkers TestChecksTimeOutOnSilentServer check/netns_test.go
virtual_server/real_server PING_CHECK RealServer.Checkers TestChecksTimeOutOnSilentServer check/netns_test.go
virtual_server/real_server FILE_CHECK RealServer.Checkers TestCheckServerMapping internal/lvs/checks_test.go
virtual_server/real_server BFD_CHECK RealServer.Checkers TestGuestBFDCheck cmd/gokeepalived/bfdcheck_kernel_test.go
`

// checkerCommonTable is the part of implementedTable every checker block
// shares; CHECKER stands for each checker keyword that has it.
const checkerCommonTable = `
connect_ip Checker.ConnectIP TestCheckServerMapping internal/lvs/checks_test.go
connect_port Checker.ConnectPort TestCheckServerMapping internal/lvs/checks_test.go
bindto Checker.BindTo TestCheckServerMapping internal/lvs/checks_test.go
bind_port Checker.BindPort TestCheckServerMapping internal/lvs/checks_test.go
bind_if Checker.BindIf TestCheckersBindIf check/bindif_test.go
connect_timeout Timing.ConnectTimeout TestCheckServerMapping internal/lvs/checks_test.go
fwmark Checker.FWMark TestCheckServerMapping internal/lvs/checks_test.go
retry Timing.Retry TestSchedulerTiming check/scheduler_test.go
delay_before_retry Timing.DelayBeforeRetry TestSchedulerTiming check/scheduler_test.go
warmup Timing.Warmup TestSchedulerWarmupAndJitterBounds check/scheduler_test.go
delay_loop Timing.DelayLoop TestSchedulerTiming check/scheduler_test.go
alpha Timing.Alpha TestSchedulerConfirmsAlphaFirstFailure check/scheduler_test.go
`

// checkerTable is the part of implementedTable for single checker types.
const checkerTable = `
HTTP_GET http_protocol HTTPChecker.Protocol TestEveryConfigValueMaps internal/lvs/table_test.go
HTTP_GET virtualhost HTTPChecker.Virtualhost TestHTTPGetRequestAsKeepalivedSendsIt check/http_test.go
HTTP_GET url HTTPChecker.URLs TestHTTPGetVerdicts check/http_test.go
HTTP_GET nb_get_retry Timing.Retry TestSchedulerTiming check/scheduler_test.go
HTTP_GET/url path URL.Path TestHTTPGetVerdicts check/http_test.go
HTTP_GET/url digest URL.Digest TestHTTPGetVerdicts check/http_test.go
HTTP_GET/url status_code URL.StatusCodes TestHTTPGetVerdicts check/http_test.go
HTTP_GET/url virtualhost URL.Virtualhost TestHTTPGetRequestAsKeepalivedSendsIt check/http_test.go
HTTP_GET/url regex URL.Regex TestHTTPGetVerdicts check/http_test.go
HTTP_GET/url regex_no_match URL.RegexNoMatch TestHTTPGetVerdicts check/http_test.go
HTTP_GET/url regex_options URL.RegexOptions TestGuestRegexBesideKeepalived internal/checkerd/regex_kernel_test.go
HTTP_GET/url regex_min_offset URL.RegexMinOffset TestHTTPGetRegexFeatures check/regex_test.go
HTTP_GET/url regex_max_offset URL.RegexMaxOffset TestHTTPGetRegexFeatures check/regex_test.go
HTTP_GET/url regex_stack URL.RegexStack TestStackLimit check/pcre/pcre_test.go
HTTP_GET fast_recovery HTTPChecker.FastRecovery TestHTTPGetURLOrderAndFastRecovery check/urlstate_test.go
HTTP_GET log_all_failures Checker.LogAllFailures TestLogAllFailuresWording check/failures_test.go
TCP_CHECK log_all_failures Checker.LogAllFailures TestLogAllFailuresWording check/failures_test.go
UDP_CHECK log_all_failures Checker.LogAllFailures TestLogAllFailuresWording check/failures_test.go
SMTP_CHECK log_all_failures Checker.LogAllFailures TestLogAllFailuresWording check/failures_test.go
SMTP_CHECK host Checker.SMTP TestSMTPCheckHostBlocks internal/checkerd/smtphosts_test.go
SMTP_CHECK/host connect_ip Checker.ConnectIP TestSMTPCheckHostBlocks internal/checkerd/smtphosts_test.go
SMTP_CHECK/host connect_port Checker.ConnectPort TestSMTPCheckHostBlocks internal/checkerd/smtphosts_test.go
SMTP_CHECK/host bindto Checker.BindTo TestSMTPCheckHostBlocks internal/checkerd/smtphosts_test.go
SMTP_CHECK/host connect_timeout Timing.ConnectTimeout TestSMTPCheckHostBlocks internal/checkerd/smtphosts_test.go
SSL_GET enable_sni HTTPChecker.EnableSNI TestSSLGet check/http_test.go
MISC_CHECK misc_path MiscChecker.Path TestMiscCheck check/checkers_test.go
MISC_CHECK misc_timeout MiscChecker.Timeout TestMiscCheckRunsAsUser check/checkers_test.go
MISC_CHECK misc_dynamic MiscChecker.Dynamic TestMiscCheck check/checkers_test.go
MISC_CHECK user MiscChecker.User,MiscChecker.Group TestGuestCheckerScriptSecurity cmd/gokeepalived/security_diff_test.go
SMTP_CHECK helo_name SMTPChecker.HeloName TestCheckServerMapping internal/lvs/checks_test.go
DNS_CHECK type DNSChecker.Type TestCheckServerMapping internal/lvs/checks_test.go
DNS_CHECK name DNSChecker.Name TestCheckServerMapping internal/lvs/checks_test.go
UDP_CHECK payload UDPChecker.Payload TestUDPCheck check/checkers_test.go
UDP_CHECK require_reply UDPChecker.RequireReply,UDPChecker.Reply,UDPChecker.ReplyMask TestUDPCheck check/checkers_test.go
UDP_CHECK min_reply_length UDPChecker.MinReplyLength TestUDPCheck check/checkers_test.go
UDP_CHECK max_reply_length UDPChecker.MaxReplyLength TestUDPCheck check/checkers_test.go
FILE_CHECK track_file FileChecker.TrackFile TestFileCheck check/checkers_test.go
FILE_CHECK weight FileChecker.Weight,FileChecker.Reverse TestFileCheck check/checkers_test.go
BFD_CHECK name BFDChecker.Name TestGuestBFDCheck cmd/gokeepalived/bfdcheck_kernel_test.go
BFD_CHECK alpha Timing.Alpha TestCheckServerBFD internal/lvs/checks_test.go
`

// notApplicableTable lists keywords that have nothing to act on in
// gokeepalived, with the reason.
const notApplicableTable = `
top namespace_with_ipsets keepalived uses it only to name the ipsets of its iptables rules in a namespace; the reference keepalived 2.2.7 build has no iptables (it refuses vrrp_iptables and uses nftables) and gokeepalived installs no iptables rules, so it changes nothing in either
vrrp_instance vrf keepalived 2.2.7 takes vrf only on an instance without interface, and refuses every instance without one ("Unknown interface!": it checks for an interface before it marks an instance unicast), so vrf never has an effect there; gokeepalived gives the same messages and verdict
vrrp_instance track_src_ip keepalived 2.2.7 compares a removed interface address with the start of the instance's source socket address, not with its address, so an instance whose source is configured never goes to FAULT when the source leaves the interface; gokeepalived does as it does (TestDaemonTrackSrcIPBesideKeepalived, cmd/gokeepalived/tracksrcip_test.go: both stay MASTER)
vrrp_script init_fail keepalived 2.2.7 puts a script back in its init state whenever an instance or sync group tracks it (alloc_track_script), after init_fail set it failed, and runs no script that nothing tracks: init_fail never takes effect, and gokeepalived does the same (TestDaemonScriptInitBesideKeepalived, cmd/gokeepalived/scriptinit_test.go: identical FIFO lines with and without init_fail)
vrrp_instance state keepalived 2.2.7 starts an instance that is not the address owner in BACKUP and stands for master after the same down interval whatever state says (measured at advert_int 1, priority 150: 3.50 s with state MASTER, 3.47 s with BACKUP), as gokeepalived does; state MASTER with AH authentication is cleared with keepalived's message
`

// extensionTable lists the keywords of gokeepalived's extensions, which
// keepalived does not have, in implementedTable's form.
const extensionTable = `
top bgp_speaker Config.BGPSpeaker TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
top bgp_announce Config.BGPAnnounces TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker router_id BGPSpeaker.RouterID TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker local_as BGPSpeaker.LocalAS TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker hold_time BGPSpeaker.HoldTime TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker graceful_restart BGPSpeaker.GracefulRestart TestBGPGracefulRestart cmd/gokeepalived/bgpgr_test.go
bgp_speaker restart_time BGPSpeaker.RestartTime TestBGPGracefulRestart cmd/gokeepalived/bgpgr_test.go
bgp_speaker neighbor BGPSpeaker.Neighbors TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker/neighbor remote_as BGPNeighbor.RemoteAS TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker/neighbor password BGPNeighbor.Password TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker/neighbor multihop BGPNeighbor.Multihop TestSpeakerMultihop internal/bgp/gobgp/gobgp_test.go
bgp_speaker/neighbor source_ip BGPNeighbor.SourceIP TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_speaker/neighbor bfd BGPNeighbor.BFD TestBGPWithBFDToBIRD cmd/gokeepalived/bgpbfd_test.go
bgp_announce prefix BGPAnnounce.Prefix TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_announce track_instance BGPAnnounce.TrackInstances TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_announce track_virtual_server BGPAnnounce.TrackVirtualServers TestGuestBGPFollowsQuorum cmd/gokeepalived/bgp_kernel_test.go
bgp_announce community BGPAnnounce.Communities TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_announce med BGPAnnounce.MED TestBGPAnnouncesToBIRD cmd/gokeepalived/bgp_test.go
bgp_announce large_community BGPAnnounce.LargeCommunities TestBGPAttributesToBIRD cmd/gokeepalived/bgpattrs_test.go
bgp_announce next_hop BGPAnnounce.NextHop TestBGPAttributesToBIRD cmd/gokeepalived/bgpattrs_test.go
vrrp_instance bfd_takeover Instance.BFDTakeover TestBFDTakeoverBesideKeepalived cmd/gokeepalived/bfdtakeover_test.go
global_defs lvs_sloppy_tcp Global.LVSSloppyTCP TestGuestSessionsSurviveECMP cmd/gokeepalived/ecmp_survive_kernel_test.go
global_defs lvs_sloppy_sctp Global.LVSSloppySCTP TestGuestSessionsSurviveECMP cmd/gokeepalived/ecmp_survive_kernel_test.go
`

// extensionEntries reads extensionTable.
func extensionEntries() []implementedEntry {
	var out []implementedEntry
	for l := range strings.Lines(extensionTable) {
		if f := strings.Fields(l); len(f) == 5 {
			out = append(out, implementedEntry{at: keywordAt{f[0], f[1]}, fields: strings.Split(f[2], ","), test: f[3], file: f[4]})
		}
	}
	return out
}

// implementedEntry is one line of implementedTable.
type implementedEntry struct {
	at     keywordAt
	fields []string
	test   string // test function name
	file   string // file of the test, from the repository's root
}

// implementedEntries reads implementedTable, checkerCommonTable and
// checkerTable.
func implementedEntries() []implementedEntry {
	var out []implementedEntry
	add := func(block string, f []string) {
		out = append(out, implementedEntry{
			at:     keywordAt{block, f[0]},
			fields: strings.Split(f[1], ","),
			test:   f[2],
			file:   f[3],
		})
	}
	for l := range strings.Lines(implementedTable) {
		if f := strings.Fields(l); len(f) == 5 {
			add(f[0], f[1:])
		}
	}
	const rs = "virtual_server/real_server/"
	common := strings.Fields("HTTP_GET SSL_GET TCP_CHECK SMTP_CHECK DNS_CHECK UDP_CHECK PING_CHECK")
	for l := range strings.Lines(checkerCommonTable) {
		f := strings.Fields(l)
		if len(f) != 4 {
			continue
		}
		for _, c := range common {
			add(rs+c, f)
		}
		// MISC_CHECK has no connection keywords.
		if !strings.HasPrefix(f[0], "connect_") && !strings.HasPrefix(f[0], "bind") && f[0] != "fwmark" {
			add(rs+MiscCheck, f)
		}
	}
	for l := range strings.Lines(checkerTable) {
		f := strings.Fields(l)
		if len(f) != 5 {
			continue
		}
		add(rs+f[0], f[1:])
		// SSL_GET takes every keyword HTTP_GET does.
		if b, ok := strings.CutPrefix(f[0], HTTPGet); ok {
			add(rs+SSLGet+b, f[1:])
		}
	}
	return out
}

// notApplicable reads notApplicableTable: each keyword and why it does
// not apply.
func notApplicable() map[keywordAt]string {
	out := make(map[keywordAt]string)
	for l := range strings.Lines(notApplicableTable) {
		f := strings.Fields(l)
		if len(f) > 2 {
			out[keywordAt{f[0], f[1]}] = strings.Join(f[2:], " ")
		}
	}
	return out
}

// implementedKeywords is the set the parser does not report as
// unimplemented.
func implementedKeywords() map[keywordAt]bool {
	out := make(map[keywordAt]bool)
	for _, e := range implementedEntries() {
		out[e.at] = true
	}
	for at := range notApplicable() {
		out[at] = true
	}
	for _, e := range extensionEntries() {
		out[e.at] = true
	}
	return out
}
