# landingfs - one non-recursive Makefile.
#
#   make run         install what is missing, build, start on ./landing
#   make check       install what is missing, build, run every test
#   make check-asan  the same suite under AddressSanitizer + UBSan
#   make bench       benchmarks, each beside a baseline from the same run
#   make install / uninstall (PREFIX, DESTDIR), make clean, make deps
#
# Objects go to $(B) (build/ by default, build-asan/ for check-asan), so the
# two builds never mix. Each layer is a static archive; the store's unit
# tests link against $(B)/store/libstore.a alone, so a store/ dependency on
# FUSE or HTTP code fails that link.

B ?= build
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system

CC ?= gcc
PKG_CONFIG ?= pkg-config
SAN ?=

# Debian packages the build, the tests and the benchmarks need.
DEPS_BUILD := gcc make pkg-config libfuse3-dev fuse3 libmicrohttpd-dev \
	libsqlite3-dev check libhttp-parser-dev nettle-dev libsystemd-dev
DEPS_TEST := curl inotify-tools attr util-linux e2fsprogs openssl \
	python3 procps psmisc chromium media-types httpdirfs sqlite3 \
	groff-base man-db
DEPS_BENCH := nginx-light strace hyperfine time

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	-Wshadow -Wpointer-arith -Wsign-compare
OPT ?= -O2 -g
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -MMD -MP \
	-Iinclude -pthread

pc = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
SQLITE_CFLAGS := $(call pc,--cflags,sqlite3)
SQLITE_LIBS := $(call pc,--libs,sqlite3)
FUSE_CFLAGS := $(call pc,--cflags,fuse3) -DFUSE_USE_VERSION=314
FUSE_LIBS := $(call pc,--libs,fuse3)
MHD_CFLAGS := $(call pc,--cflags,libmicrohttpd)
MHD_LIBS := $(call pc,--libs,libmicrohttpd)
NETTLE_LIBS := $(call pc,--libs,nettle)
SYSTEMD_CFLAGS := $(call pc,--cflags,libsystemd)
SYSTEMD_LIBS := $(call pc,--libs,libsystemd)
CHECK_CFLAGS := $(call pc,--cflags,check)
CHECK_LIBS := $(call pc,--libs,check)
HTTP_PARSER_LIBS := -lhttp_parser

# ---- sources, per layer ------------------------------------------------
STORE_SRCS := $(sort $(wildcard store/*.c))
FS_SRCS := $(sort $(filter-out fs/daemon.c,$(wildcard fs/*.c)))
NET_SRCS := $(sort $(wildcard net/*.c))
CTL_SRCS := $(sort $(wildcard mount-helpers/landingctl*.c))

obj = $(patsubst %.c,$(B)/%.o,$(1))
STORE_OBJS := $(call obj,$(STORE_SRCS))
FS_OBJS := $(call obj,$(FS_SRCS))
NET_OBJS := $(call obj,$(NET_SRCS))

LIBSTORE := $(B)/store/libstore.a
LIBFS := $(B)/fs/libfs.a
LIBNET := $(B)/net/libnet.a

DAEMON := $(B)/landingfs
CTL := $(B)/landingctl
PROGS := $(DAEMON) $(CTL)

# Per-layer include paths: store/ sees SQLite and nothing else.
$(B)/store/%.o: CFLAGS_LAYER := $(SQLITE_CFLAGS)
$(B)/fs/%.o: CFLAGS_LAYER := $(FUSE_CFLAGS)
$(B)/net/%.o: CFLAGS_LAYER := $(MHD_CFLAGS)
$(B)/mount-helpers/%.o: CFLAGS_LAYER := $(SYSTEMD_CFLAGS)
$(B)/tests/%.o: CFLAGS_LAYER := $(CHECK_CFLAGS) $(FUSE_CFLAGS) $(MHD_CFLAGS) \
	-Itests

# ---- tests -------------------------------------------------------------
# tests/unit/check_<name>.c defines Suite *<name>_suite(void). Store suites
# (check_store*.c) go into check_store, linked with libstore.a alone; the
# others, and the integration suite, go into check_landingfs.
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_STORE_SRCS := $(filter tests/unit/check_store%,$(UNIT_SRCS))
UNIT_OTHER_SRCS := $(filter-out $(UNIT_STORE_SRCS),$(UNIT_SRCS))
suite_names = $(patsubst tests/unit/check_%.c,%,$(1))

CHECK_STORE := $(B)/tests/check_store
CHECK_ALL := $(B)/tests/check_landingfs
TEST_PROGS := $(patsubst tests/progs/%.c,$(B)/tests/progs/%,\
	$(wildcard tests/progs/*.c))
BENCH_PROGS := $(patsubst tests/bench/%.c,$(B)/tests/bench/%,\
	$(wildcard tests/bench/*.c))

.PHONY: all run check check-unit check-asan bench install uninstall clean \
	deps deps-bench layering fuzz
.DEFAULT_GOAL := all

all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(CFLAGS_LAYER) $(CFLAGS) -c -o $@ $<

$(LIBSTORE): $(STORE_OBJS)
$(LIBFS): $(FS_OBJS)
$(LIBNET): $(NET_OBJS)
$(LIBSTORE) $(LIBFS) $(LIBNET):
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

LIBS_STORE := $(SQLITE_LIBS) -pthread
LIBS_ALL := $(MHD_LIBS) $(FUSE_LIBS) $(HTTP_PARSER_LIBS) $(NETTLE_LIBS) \
	$(SYSTEMD_LIBS) $(LIBS_STORE)

$(DAEMON): $(B)/fs/daemon.o $(LIBFS) $(LIBNET) $(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(LIBS_ALL) $(LDFLAGS)
$(CTL): $(call obj,$(CTL_SRCS)) $(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(NETTLE_LIBS) $(SYSTEMD_LIBS) $(LIBS_STORE) \
		$(LDFLAGS)

$(B)/tests/suites_store.h: $(UNIT_STORE_SRCS)
	@mkdir -p $(@D)
	printf 'SUITE(%s)\n' $(call suite_names,$^) > $@
$(B)/tests/suites_all.h: $(UNIT_OTHER_SRCS)
	@mkdir -p $(@D)
	printf 'SUITE(%s)\n' $(call suite_names,$^) integration > $@

$(B)/tests/main_store.o: tests/check_main.c $(B)/tests/suites_store.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(CHECK_CFLAGS) $(CFLAGS) \
		-DSUITES='"suites_store.h"' -I$(B)/tests -c -o $@ $<
$(B)/tests/main_all.o: tests/check_main.c $(B)/tests/suites_all.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(CHECK_CFLAGS) $(CFLAGS) \
		-DSUITES='"suites_all.h"' -I$(B)/tests -c -o $@ $<

$(CHECK_STORE): $(B)/tests/main_store.o $(call obj,$(UNIT_STORE_SRCS)) \
		$(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(CHECK_LIBS) $(LIBS_STORE) $(LDFLAGS)
$(CHECK_ALL): $(B)/tests/main_all.o $(call obj,$(UNIT_OTHER_SRCS)) \
		$(B)/tests/check_integration.o $(LIBFS) $(LIBNET) $(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(CHECK_LIBS) $(LIBS_ALL) $(LDFLAGS)

$(B)/tests/progs/%: $(B)/tests/progs/%.o $(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(NETTLE_LIBS) $(LIBS_STORE) $(LDFLAGS)
$(B)/tests/bench/%: $(B)/tests/bench/%.o $(LIBSTORE)
	$(CC) $(SAN) -o $@ $^ $(NETTLE_LIBS) $(LIBS_STORE) $(LDFLAGS)

# No file under store/ may include a FUSE or libmicrohttpd header.
layering:
	@if grep -nE '#[[:space:]]*include[[:space:]]*[<"](fuse|microhttpd)' \
		store/*.c store/*.h 2>/dev/null; then \
		echo "layering: store/ includes FUSE or HTTP headers" >&2; \
		exit 1; fi
	@echo "layering: store/ is free of FUSE and HTTP"

tests-build: $(PROGS) $(CHECK_STORE) $(CHECK_ALL) $(TEST_PROGS)

# The test environment: the integration suite finds the programs here.
TEST_ENV := LANDINGFS=$(abspath $(DAEMON)) LANDINGCTL=$(abspath $(CTL)) \
	LF_TEST_PROGS=$(abspath $(B)/tests/progs) LF_SRC=$(CURDIR) \
	LF_MOUNT_HELPER=$(CURDIR)/mount-helpers/mount.landingfs

check: deps
	$(MAKE) --no-print-directory check-unit

check-unit: layering tests-build
	$(TEST_ENV) $(CHECK_STORE)
	$(TEST_ENV) $(CHECK_ALL)

# ASan + UBSan over the whole suite, in its own build directory. LSan is on;
# the FUSE daemon's libraries are suppressed only where tests/lsan.supp says.
check-asan: deps
	$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		check-unit

bench: deps deps-bench $(PROGS) $(BENCH_PROGS) $(TEST_PROGS)
	$(TEST_ENV) LF_BENCH_PROGS=$(abspath $(B)/tests/bench) \
		bash tests/bench/run.sh

# libFuzzer harnesses: tests/fuzz/fuzz_<name>.c, each naming the net/ and
# store/ sources it links on a "fuzz-sources:" line, built with clang into
# build-fuzz/ and run for FUZZ_SECONDS each on a copy of its seed corpus
# tests/fuzz/corpus/<name>/. A crash fails the target and leaves the input
# in build-fuzz/crash-<name>-*.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_B := build-fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Inet -pthread \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz:
	$(call install_missing,clang)
	@mkdir -p $(FUZZ_B)
	@set -e; for h in $(FUZZ_NAMES); do \
		srcs=$$(sed -n 's/^ \* fuzz-sources://p' tests/fuzz/fuzz_$$h.c); \
		echo "fuzz: build $$h ($$srcs)"; \
		$(FUZZ_CC) $(FUZZ_CFLAGS) $(MHD_CFLAGS) $(SQLITE_CFLAGS) \
			-o $(FUZZ_B)/fuzz_$$h tests/fuzz/fuzz_$$h.c $$srcs \
			$(MHD_LIBS) $(HTTP_PARSER_LIBS) $(NETTLE_LIBS) \
			$(SQLITE_LIBS); \
	done
	@set -e; for h in $(FUZZ_NAMES); do \
		rm -rf $(FUZZ_B)/corpus-$$h; mkdir -p $(FUZZ_B)/corpus-$$h; \
		echo "fuzz: run $$h for $(FUZZ_SECONDS) s"; \
		$(FUZZ_B)/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_B)/crash-$$h- \
			$(FUZZ_B)/corpus-$$h tests/fuzz/corpus/$$h \
			2> $(FUZZ_B)/fuzz-$$h.log || { \
			tail -n 40 $(FUZZ_B)/fuzz-$$h.log >&2; \
			echo "fuzz: $$h crashed; input in $(FUZZ_B)/crash-$$h-*" >&2; \
			exit 1; }; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' \
			$(FUZZ_B)/fuzz-$$h.log | tr '\n' ' '; echo; \
	done

run: deps $(PROGS)
	@mkdir -p landing .landing-store
	@echo "landingfs: mounting ./landing, store ./.landing-store, HTTP on 127.0.0.1:8080 (Ctrl-C stops)"
	$(DAEMON) -f --store ./.landing-store ./landing

# deps installs the Debian packages that are missing (nothing when all are
# present); apt-get runs through sudo when not root.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEPS_BUILD) $(DEPS_TEST))
deps-bench:
	$(call install_missing,$(DEPS_BENCH))

MAN8 := $(wildcard mount-helpers/*.8)
# Units are templates: @SBINDIR@ becomes the daemon's installed directory.
UNITS := $(patsubst %.in,%,$(notdir $(wildcard mount-helpers/*.service.in)))
# mount(8) looks for mount.fuse.landingfs in /sbin only (util-linux 2.38:
# /sbin, /sbin/fs.d, /sbin/fs), whatever PREFIX is; the link goes there.
MOUNTHELPERDIR ?= /sbin
install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MOUNTHELPERDIR)
	install -m 0755 $(DAEMON) $(CTL) $(DESTDIR)$(SBINDIR)/
	install -m 0755 mount-helpers/mount.landingfs $(DESTDIR)$(SBINDIR)/
	ln -sf $(SBINDIR)/mount.landingfs \
		$(DESTDIR)$(MOUNTHELPERDIR)/mount.fuse.landingfs
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	for u in $(UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' mount-helpers/$$u.in \
			> $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/landingfs $(DESTDIR)$(SBINDIR)/landingctl \
		$(DESTDIR)$(SBINDIR)/mount.landingfs \
		$(DESTDIR)$(MOUNTHELPERDIR)/mount.fuse.landingfs \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
