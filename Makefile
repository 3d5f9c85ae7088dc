# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#
# make                 library (static + shared), CLI, examples, tests, bench
# make check           the test suite (tests/runtests.sh)
# make demo            build, then show pagescan on a demonstration process
# make check-vm        the suite on Debian's 6.1, 6.12 and 5.10 kernels (qemu)
# make check-all       every lane, as CI runs it (installs its packages)
# make install         PREFIX=/usr/local DESTDIR= LIBDIR= INCLUDEDIR= MANDIR=
# Variables: BUILD=dir (default build), WERROR=1, SANITIZE=1 (ASan+UBSan),
#            STATIC=1 (static test and CLI binaries, for the VM lane), V=1.

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
BASEFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARNINGS) $(SANFLAGS) -MMD -MP
LIBFLAGS := $(BASEFLAGS) -Isrc -fPIC -fvisibility=hidden -DPAGESCAN_BUILDING_LIB
LDLIBS_ALL := -lpthread
ifeq ($(STATIC),1)
EXE_LDFLAGS := -static
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

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCHES := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

# The CLI and examples link the shared library (so they can reach only the
# exported API), unless STATIC=1; tests link the static one.
ifeq ($(STATIC),1)
PUBLIC_LINK := $(LIB_A)
PUBLIC_DEP := $(LIB_A)
else
PUBLIC_LINK := -L$(BUILD) -l:libpagescan.so.$(VERSION) -Wl,-rpath,'$$ORIGIN:$$ORIGIN/..'
PUBLIC_DEP := $(LIB_SO)
endif

all: $(LIB_A) $(LIB_SO) $(CLI) $(EXAMPLES) $(TESTS) $(BENCHES) \
	$(BUILD)/libpagescan.pc

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(LIBFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) src/libpagescan.map
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -shared -Wl,-soname,$(SONAME) \
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

$(BUILD)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(BASEFLAGS) -Isrc $(EXE_LDFLAGS) -o $@ $< \
		$(LIB_A) $(LDLIBS_ALL)

$(BUILD)/libpagescan.pc: libpagescan.pc.in Makefile.common
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		$< > $@

check: all
	$(Q)BUILD=$(BUILD) tests/runtests.sh

# A demonstration process, then pagescan's summary, regions, picture,
# watch and the write-watch API on it (scripts/demo.sh).
demo: all
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

bench: $(BENCHES)
	$(Q)for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

# The installed command carries the library inside: no rpath to a build tree.
$(BUILD)/install/pagescan: $(CLI_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(CLI_OBJS) $(LIB_A) \
		$(LDLIBS_ALL) -lm

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
	install -m 755 $(BUILD)/install/pagescan $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/libpagescan.pc $(DESTDIR)$(PKGCONFIGDIR)/
	for m in man/*.1; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in man/*.3; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man3/; done; true
	for m in man/*.7; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done; true

clean:
	rm -rf $(BUILD)


.PHONY: all check check-all check-vm check-headers check-abi bench install clean

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/cli/*.d $(BUILD)/tests/*.d \
	$(BUILD)/examples/*.d $(BUILD)/bench/*.d)
