# anonvm build.  `make` builds the library, the command, the tests and the
# benchmarks; `make check` runs every test in a normal and an ASan+UBSan build.
#
# One object directory per configuration: build/ (release, -O2),
# build-asan/ (gcc, ASan+UBSan), build-clang/ (clang, ASan+UBSan) and
# build-tsan/ (gcc, ThreadSanitizer).  Select with `make BUILD=asan`,
# `make BUILD=clang-asan` or `make BUILD=tsan`.

BUILD   ?= release
CC      ?= cc
ifeq ($(BUILD),asan)
O       := build-asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(BUILD),tsan)
O       := build-tsan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=thread
else ifeq ($(BUILD),clang-asan)
O       := build-clang
CC      := clang
# clang also warns on positional initializers that leave trailing fields
# zero, which C defines and the tables here use on purpose.
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
WNO     := -Wno-missing-field-initializers
else
O       := build
OPT     := -O2
endif

# The lock validator and lock statistics (src/lib/lockdep.h): built in
# unless LOCKDEP=0; every public function is then linked through its
# API-boundary check (src/lib/api_check.c).  At run time the validator is
# on by default in the sanitizer builds and off in the release build
# (it costs 1.2-1.6x there); $ANONVM_LOCKDEP=1/0 overrides, and the test
# scripts set it to 1, so every test runs validated.
LOCKDEP ?= 1
ifeq ($(BUILD),release)
LOCKDEP_DEFAULT := 0
else
LOCKDEP_DEFAULT := 1
endif

PKGS    := jansson liburcu-memb
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Iinclude -Isrc -pthread -MMD -MP $(shell pkg-config --cflags $(PKGS)) $(WNO)
LDFLAGS += $(filter -fsanitize%,$(OPT)) -pthread
ifeq ($(LOCKDEP),1)
CFLAGS  += -DCONFIG_LOCKDEP -DLOCKDEP_DEFAULT_ON=$(LOCKDEP_DEFAULT)
AVM_API := $(shell scripts/api-functions.sh)
LDFLAGS += $(AVM_API:%=-Wl,--wrap=%)
else
O       := $(O)-nolockdep
endif
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TESTLIBS := -lcmocka

LIB_SRC   := $(sort $(wildcard src/lib/*.c src/mm/*.c src/rmap/*.c src/scenario/*.c \
                              src/workload/*.c))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

LIB   := $(O)/libanonvm.a
CLI   := $(O)/anonvm
TESTS := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRC))
BENCH := $(patsubst bench/%.c,$(O)/bench/%,$(BENCH_SRC))

all: $(LIB) $(CLI) $(TESTS) $(BENCH)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_SRC:%.c=$(O)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(CLI): $(CLI_SRC:%.c=$(O)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: $(O)/tests/%.o $(O)/tests/lib/testutil.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TESTLIBS)

$(O)/bench/%: $(O)/bench/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Programs the tests run and trace (tests/progs/): plain builds, no
# sanitizers, since a traced program's own memory is what is observed.
PROG_SRC := $(sort $(wildcard tests/progs/*.c))
PROGS    := $(patsubst tests/progs/%.c,$(O)/tests/progs/%,$(PROG_SRC))
all: $(PROGS)

$(O)/tests/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -Wall -Wextra -Werror -o $@ $<
# ---- shared library, pkg-config file, install ---------------------------
# libanonvm.so.$(VERSION) (soname libanonvm.so.$(SOVER)) beside the static
# archive, in the release build: its own -fPIC objects, and only the
# functions of include/anonvm/anonvm.h exported (a version script made
# from the header by scripts/api-functions.sh, $(O)/libanonvm.map).  The
# lock validator's API-boundary wrappers (src/lib/api_check.c) need ld
# --wrap at the program's link, so the shared library leaves them out;
# the validator itself is in.  `make install` (PREFIX, DESTDIR) puts the
# command, both libraries, the header, the man pages and anonvm.pc in
# place; `make uninstall` removes them.  tests/install.sh checks it all.
VERSION := 0.1.0
SOVER   := 0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

SHLIB     := $(O)/libanonvm.so.$(VERSION)
SHLIB_OBJ := $(patsubst %.c,$(O)/pic/%.o,$(filter-out src/lib/api_check.c,$(LIB_SRC)))
MANPAGES  := $(sort $(wildcard man/*.[0-9]))

ifeq ($(BUILD),release)
all: $(SHLIB)
endif

$(O)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fno-semantic-interposition -c $< -o $@

$(O)/libanonvm.map: include/anonvm/anonvm.h scripts/api-functions.sh
	@mkdir -p $(dir $@)
	{ echo 'ANONVM_0 {'; echo '	global:'; \
	  scripts/api-functions.sh $< | sed 's/.*/		&;/'; \
	  echo '	local:'; echo '		*;'; echo '};'; } > $@

$(SHLIB): $(SHLIB_OBJ) $(O)/libanonvm.map
	$(CC) $(filter -fsanitize%,$(OPT)) -shared -Wl,-soname,libanonvm.so.$(SOVER) \
		-Wl,--version-script=$(O)/libanonvm.map -Wl,--no-undefined \
		-o $@ $(SHLIB_OBJ) $(shell pkg-config --libs liburcu-memb) -lm -pthread
	ln -sf libanonvm.so.$(VERSION) $(O)/libanonvm.so.$(SOVER)
	ln -sf libanonvm.so.$(SOVER) $(O)/libanonvm.so

# anonvm.pc, written at install time for the PREFIX given then.
PC_LINES := 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	'Name: anonvm' \
	'Description: userspace model of the Linux anonymous memory manager and its anon_vma reverse map' \
	'Version: $(VERSION)' 'Cflags: -I$${includedir}' \
	'Requires.private: liburcu-memb' \
	'Libs: -L$${libdir} -lanonvm' 'Libs.private: -lm -pthread'

install: $(LIB) $(SHLIB) $(CLI)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/anonvm $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/anonvm
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libanonvm.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libanonvm.so.$(VERSION)
	ln -sf libanonvm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libanonvm.so.$(SOVER)
	ln -sf libanonvm.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libanonvm.so
	install -m 644 include/anonvm/anonvm.h $(DESTDIR)$(INCLUDEDIR)/anonvm/anonvm.h
	printf '%s\n' $(PC_LINES) > $(DESTDIR)$(PKGCONFIGDIR)/anonvm.pc
	for m in $(MANPAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/anonvm $(DESTDIR)$(LIBDIR)/libanonvm.a \
		$(DESTDIR)$(LIBDIR)/libanonvm.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/libanonvm.so.$(SOVER) \
		$(DESTDIR)$(LIBDIR)/libanonvm.so \
		$(DESTDIR)$(INCLUDEDIR)/anonvm/anonvm.h \
		$(DESTDIR)$(PKGCONFIGDIR)/anonvm.pc
	-rmdir $(DESTDIR)$(INCLUDEDIR)/anonvm 2>/dev/null
	for m in $(MANPAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; \
	done

.PHONY: install uninstall
# ---- end of shared library, pkg-config file, install ---------------------

# Unit tests of this configuration; tests/run-tests.sh prints the closing
# "N passed, N failed, N skipped" line.
test: all
	@tests/run-tests.sh $(O)

# Both builds, then every test of both (tests/check.sh).
check:
	$(MAKE) BUILD=release all
	$(MAKE) BUILD=asan all
	$(MAKE) BUILD=clang-asan all
	$(MAKE) BUILD=tsan all
	tests/check.sh

clean:
	rm -rf build build-asan build-clang build-tsan

.PHONY: all test check clean
.SECONDARY:
-include $(shell find $(O) -name '*.d' 2>/dev/null)
