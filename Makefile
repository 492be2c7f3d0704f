# anonvm build.  `make` builds the library, the command, the tests and the
# benchmarks; `make check` runs every test in a normal and an ASan+UBSan build.
#
# One object directory per configuration: build/ (release, -O2),
# build-asan/ (ASan+UBSan) and build-tsan/ (ThreadSanitizer).  Select with
# `make BUILD=asan` or `make BUILD=tsan`.

BUILD   ?= release
CC      ?= cc
ifeq ($(BUILD),asan)
O       := build-asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(BUILD),tsan)
O       := build-tsan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=thread
else
O       := build
OPT     := -O2
endif

PKGS    := jansson liburcu-memb
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Iinclude -Isrc -pthread -MMD -MP $(shell pkg-config --cflags $(PKGS))
LDFLAGS += $(filter -fsanitize%,$(OPT)) -pthread
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm
TESTLIBS := -lcmocka

LIB_SRC   := $(sort $(wildcard src/lib/*.c src/mm/*.c src/rmap/*.c src/scenario/*.c))
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

# Unit tests of this configuration; tests/run-tests.sh prints the closing
# "N passed, N failed, N skipped" line.
test: all
	@tests/run-tests.sh $(O)

# The three builds, then every test of each (tests/check.sh).
check:
	$(MAKE) BUILD=release all
	$(MAKE) BUILD=asan all
	$(MAKE) BUILD=tsan all
	tests/check.sh

clean:
	rm -rf build build-asan build-tsan

.PHONY: all test check clean
.SECONDARY:
-include $(shell find $(O) -name '*.d' 2>/dev/null)
