# gokeepalived: see README.md.
GO ?= go
PREFIX ?= /usr/local
# The whole suite must stay well inside CI's budget (90 minutes on 2 cores).
TEST_TIMEOUT ?= 25m

.PHONY: all build test unit vet deps bench demo install clean fuzz chaos soak deb

all: build

# gokeepalived-bgp, the BGP speaker the daemon runs only for a
# bgp_speaker block, is a program of its own so that the daemon does not
# link GoBGP.
build:
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/gokeepalived ./cmd/gokeepalived-bgp

deps:
	@scripts/deps.sh

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# test: vet, unit tests and the end-to-end tests (network namespaces, real
# keepalived, and real IPVS in a qemu guest). Privileged tests skip when not
# root, except under CI=true where they fail instead.
# The chaos test's netem fault needs sch_netem, which some kernels (this
# project's CI machine's among them) lack: there TestChaos runs the other
# faults, and TestChaosNetemGuest runs the netem fault in the qemu guest.
CHAOS_TEST_FAULTS ?= kill,stop,link,partition,loss,track,storm,fds
#
# The tests that run in the qemu guest for minutes, and the newer guest
# tests (TestKernelPrometheus), run last, one at a
# time and alone: under emulation they need the CPUs to themselves to keep
# VRRP's timing. The soak runs SOAK_TEST_DURATION, six minutes rather
# than five because memory is fitted over the second half of the run
# (by Theil-Sen, which the heap's sawtooth at either end does not move).
# TestSystemdGuest boots Debian 12 with systemd and installs the package
# (about three minutes).
SOAK_TEST_DURATION ?= 6m
ALONE = ^(TestSoak|TestChaosNetemGuest|TestKernelPrometheus|TestSystemdGuest)$$
test: deps vet build
	CHAOS_FAULTS=$(CHAOS_TEST_FAULTS) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -skip '$(ALONE)' ./...
	SOAK_DURATION=$(SOAK_TEST_DURATION) $(GO) test -count=1 -p 1 -v -timeout 30m -run '$(ALONE)' ./test/chaos ./test/soak ./test/e2e/prometheus ./test/systemd

# bench: every benchmark, each beside keepalived in the same run (root; long).
bench: deps build
	@GO="$(GO)" scripts/bench.sh

# demo: the two-director LVS-DR lab of examples/dr-*.conf, narrated (root).
demo: deps build
	@GO="$(GO)" scripts/demo.sh

# fuzz: each fuzz target for FUZZTIME (make test replays their corpora).
FUZZTIME ?= 10m
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime $(FUZZTIME) ./vrrp
	$(GO) test -run '^$$' -fuzz FuzzVerifyAH -fuzztime $(FUZZTIME) ./vrrp
	$(GO) test -run '^$$' -fuzz FuzzRawReceive -fuzztime $(FUZZTIME) ./vrrp
	$(GO) test -run '^$$' -fuzz FuzzHTTPResponse -fuzztime $(FUZZTIME) ./check
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./ipvs
	$(GO) test -run '^$$' -fuzz FuzzDNSReply -fuzztime $(FUZZTIME) ./check
	$(GO) test -run '^$$' -fuzz FuzzRequest -fuzztime $(FUZZTIME) ./internal/control
	$(GO) test -run '^$$' -fuzz FuzzSMTPReply -fuzztime $(FUZZTIME) ./notify
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime $(FUZZTIME) ./internal/agentx
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime $(FUZZTIME) ./bfd

# chaos: test/chaos's seeded fault run (root); CHAOS_SEED, CHAOS_DURATION,
# CHAOS_FAULTS: see test/chaos/README.md. The run with BFD and
# bfd_takeover (TestChaosBFD) lasts CHAOS_BFD_DURATION here, 30 s in
# make test.
CHAOS_BFD_DURATION ?= 150s
chaos: build
	CHAOS_BIN=$(CURDIR)/bin/gokeepalived CHAOS_BFD_DURATION=$(CHAOS_BFD_DURATION) $(GO) test -count=1 -v -timeout 0 -run TestChaos ./test/chaos/

# soak: a director pair, 50 VRRP instances and 500 flapping real servers
# (root); SOAK_DURATION (default 5m), SOAK_SEED, SOAK_DELAY_LOOP: see
# test/soak.
SOAK_DURATION ?= 5m
soak: deps
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' ./test/soak

# deb: the Debian package (daemon, systemd unit, /etc/default file, man
# pages), built with dpkg-buildpackage and debhelper into bin/deb from
# packaging/deb; the version comes from git (packaging/deb/version.sh).
deb: deps
	@GO="$$(command -v $(GO))" packaging/deb/build.sh bin/deb

install: build
	install -D -m 0755 bin/gokeepalived $(DESTDIR)$(PREFIX)/sbin/gokeepalived
	install -D -m 0755 bin/gokeepalived-bgp $(DESTDIR)$(PREFIX)/sbin/gokeepalived-bgp

clean:
	rm -rf bin
