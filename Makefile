# anonvm build.  `make` builds the library, the command, the tests and the
# benchmarks; `make check` runs every test in a normal and an ASan+UBSan build.
#
# One object directory per configuration: build/ (release, -O2),
# build-asan/ (gcc, ASan+UBSan) and build-clang/ (clang, ASan+UBSan).
# Select with `make BUILD=asan` or `make BUILD=clang-asan`.

BUILD   ?= release
CC      ?= cc
ifeq ($(BUILD),asan)
O       := build-asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
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
# API-boundary check (src/lib/api_check.c).
LOCKDEP ?= 1

PKGS    := jansson
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Iinclude -Isrc -pthread -MMD -MP $(shell pkg-config --cflags $(PKGS)) $(WNO)
LDFLAGS += $(filter -fsanitize%,$(OPT)) -pthread
ifeq ($(LOCKDEP),1)
CFLAGS  += -DCONFIG_LOCKDEP
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

# Unit tests of this configuration; tests/run-tests.sh prints the closing
# "N passed, N failed, N skipped" line.
test: all
	@tests/run-tests.sh $(O)

# Both builds, then every test of both (tests/check.sh).
check:
	$(MAKE) BUILD=release all
	$(MAKE) BUILD=asan all
	$(MAKE) BUILD=clang-asan all
	tests/check.sh

clean:
	rm -rf build build-asan build-clang

.PHONY: all test check clean
.SECONDARY:
-include $(shell find $(O) -name '*.d' 2>/dev/null)
