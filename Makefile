# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# make                 library (static + shared), CLI, examples, tests, bench
# make check           the test suite (tests/runtests.sh)
# make demo            build, then show pagescan on a demonstration process
# make check-vm        the suite on Debian's 6.1, 6.12 and 5.10 kernels (qemu)
# make check-all       every lane, as CI runs it (installs its packages)
# make install         PREFIX=/usr/local DESTDIR= LIBDIR= INCLUDEDIR= MANDIR=
#                      BASHCOMPDIR= (bash completion)
#                      CLI_SHARED=1 (the installed command links the shared
#                      library, no rpath: what a distribution package wants)
# Variables: BUILD=dir (default build), WERROR=1, SANITIZE=1 (ASan+UBSan)
#            or SANITIZE=thread (ThreadSanitizer),
#            STATIC=1 (static test and CLI binaries, for the VM lane), V=1;
#            CFLAGS, CPPFLAGS and LDFLAGS are honoured (dpkg-buildflags).

include Makefile.common

BUILD ?= build
CC ?= gcc
AR ?= ar
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wformat=2 -Wvla
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
endif
ifeq ($(SANITIZE),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
BASEFLAGS := $(CPPFLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARNINGS) \
	$(SANFLAGS) -MMD -MP
LIBFLAGS := $(BASEFLAGS) -Isrc -fPIC -fvisibility=hidden -DPAGESCAN_BUILDING_LIB
LDLIBS_ALL := -lpthread
EXE_LDFLAGS := $(LDFLAGS)
ifeq ($(STATIC),1)
EXE_LDFLAGS += -static
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(sort $(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_A := $(BUILD)/libpagescan.a
SONAME := libpagescan.so.$(VERSION_MAJOR)
LIB_SO := $(BUILD)/libpagescan.so.$(VERSION)

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o)
CLI := $(BUILD)/pagescan

EX_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES := $(EX_SRCS:examples/%.c=$(BUILD)/examples/%)

TEST_HELPERS := tests/helpers.c
TEST_SRCS := $(sort $(filter-out $(TEST_HELPERS),$(wildcard tests/*.c)))
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.t)

# One harness from every bench/*.c (bench/README); public API only.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%.o)
BENCH := $(BUILD)/bench/pagescan-bench

# The CLI and examples link the shared library (so they can reach only the
# exported API), unless STATIC=1; tests link the static one.
ifeq ($(STATIC),1)
PUBLIC_LINK := $(LIB_A)
PUBLIC_DEP := $(LIB_A)
else
PUBLIC_LINK := -L$(BUILD) -l:libpagescan.so.$(VERSION) -Wl,-rpath,'$$ORIGIN:$$ORIGIN/..'
PUBLIC_DEP := $(LIB_SO)
endif

all: $(LIB_A) $(LIB_SO) $(CLI) $(EXAMPLES) $(TESTS) $(BENCH) \
	$(BUILD)/libpagescan.pc

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(LIBFLAGS) -c $< -o $@

# The version, from Makefile.common alone (src/version.c checks the
# header's macros against it).
$(BUILD)/obj/version.o: LIBFLAGS += -DPAGESCAN_MK_VERSION='"$(VERSION)"' \
	-DPAGESCAN_MK_VERSION_MAJOR=$(VERSION_MAJOR) \
	-DPAGESCAN_MK_VERSION_MINOR=$(VERSION_MINOR)
$(BUILD)/obj/version.o: Makefile.common

$(LIB_A): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) src/libpagescan.map
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -shared \
		-Wl,-soname,$(SONAME) -Wl,-z,relro,-z,now \
		-Wl,--version-script=src/libpagescan.map -Wl,-z,defs \
		-o $@ $(LIB_OBJS) $(LDLIBS_ALL)
	$(Q)ln -sf libpagescan.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(BUILD)/libpagescan.so

$(BUILD)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) -Icli -c $< -o $@

$(CLI): $(CLI_OBJS) $(PUBLIC_DEP)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(EXE_LDFLAGS) -o $@ $(CLI_OBJS) \
		$(PUBLIC_LINK) $(LDLIBS_ALL) -lm

$(BUILD)/examples/%: examples/%.c $(PUBLIC_DEP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) $(EXE_LDFLAGS) -o $@ $< \
		$(PUBLIC_LINK) $(LDLIBS_ALL)

$(BUILD)/tests/helpers.o: tests/helpers.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) -Isrc -c $< -o $@

$(BUILD)/tests/%.t: tests/%.c $(BUILD)/tests/helpers.o $(LIB_A)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) -Isrc $(EXE_LDFLAGS) -o $@ $< \
		$(BUILD)/tests/helpers.o $(LIB_A) $(LDLIBS_ALL)

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) -c $< -o $@

$(BENCH): $(BENCH_OBJS) $(PUBLIC_DEP)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(EXE_LDFLAGS) -o $@ $(BENCH_OBJS) \
		$(PUBLIC_LINK) $(LDLIBS_ALL) -lm

# The .pc records where `make install` puts things: it is made again
# whenever PREFIX, LIBDIR, INCLUDEDIR or the version differ from the last
# run's, so that `make` then `make install PREFIX=/usr` installs a .pc that
# says /usr.
PC_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)
$(BUILD)/pc-vars: FORCE
	@mkdir -p $(@D)
	$(Q)echo '$(PC_VARS)' | cmp -s - $@ || echo '$(PC_VARS)' > $@

$(BUILD)/libpagescan.pc: libpagescan.pc.in $(BUILD)/pc-vars
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		$< > $@

check: all
	$(Q)BUILD=$(BUILD) tests/runtests.sh

# A demonstration process, then pagescan's summary, regions, picture,
# watch and the write-watch API on it (scripts/demo.sh).
# It builds only what it runs: the command and the layout program.
demo: $(CLI) $(BUILD)/tests/cli-layout.t
	$(Q)BUILD=$(BUILD) scripts/demo.sh

.PHONY: demo

check-vm:
	$(Q)tests/vm/run.sh

# Every lane (host, nobody, emulate, asan, static checks, VM): what CI runs.
check-all:
	$(Q)BUILD=$(BUILD) scripts/check-all.sh

check-headers:
	$(Q)scripts/check-headers.sh

check-abi: $(LIB_SO)
	$(Q)scripts/check-abi.sh $(LIB_SO)

# The side-by-side benchmark (doc/performance.md): about 5 minutes here.
# BENCH_QUICK=1: small layouts, a smoke run; BENCH_ARGS: more options
# (build/bench/pagescan-bench --help).  Run it under the test lock.
bench: $(BENCH) $(CLI)
	$(Q)$(BENCH) $(if $(filter 1,$(BENCH_QUICK)),--quick) \
		--commit "$$(git describe --always --dirty 2>/dev/null)" \
		$(BENCH_ARGS)

# The installed command carries the library inside (no rpath to a build
# tree), or with CLI_SHARED=1 links the installed libpagescan.so.N.
ifeq ($(CLI_SHARED),1)
INSTALL_CLI_LINK := -L$(BUILD) -lpagescan
INSTALL_CLI_DEP := $(LIB_SO)
else
INSTALL_CLI_LINK := $(LIB_A)
INSTALL_CLI_DEP := $(LIB_A)
endif
$(BUILD)/install/pagescan: $(CLI_OBJS) $(INSTALL_CLI_DEP) FORCE
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) \
		$(INSTALL_CLI_LINK) $(LDLIBS_ALL) -lm

install: $(LIB_A) $(LIB_SO) $(BUILD)/install/pagescan $(BUILD)/libpagescan.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man7
	install -m 644 include/pagescan.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libpagescan.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpagescan.so
	@# Without DESTDIR the library is live now: tell the loader (root).
	$(Q)[ -n "$(DESTDIR)" ] || ldconfig 2>/dev/null || true
	install -m 755 $(BUILD)/install/pagescan $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/libpagescan.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 contrib/bash-completion/pagescan $(DESTDIR)$(BASHCOMPDIR)/
	@# A page, or a link to the page that documents the name (man/).
	$(Q)for m in man/*.[1-8]; do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		install -d "$$d" || exit 1; \
		if [ -L "$$m" ]; then \
			ln -sf "$$(readlink "$$m")" "$$d/$${m#man/}"; \
		else \
			install -m 644 "$$m" "$$d/"; \
		fi || exit 1; \
	done

clean:
	rm -rf $(BUILD)


FORCE:

.PHONY: all check check-all check-vm check-headers check-abi bench install \
	clean FORCE

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/cli/*.d $(BUILD)/tests/*.d \
	$(BUILD)/examples/*.d $(BUILD)/bench/*.d)
