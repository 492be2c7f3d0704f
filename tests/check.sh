#!/usr/bin/env bash
# Everything `make check` runs, for the release build, the ASan+UBSan
# build (gcc) and the ASan+UBSan build of clang (unit tests and corpus
# only), and under ThreadSanitizer the tests that run threads or the
# paths they race on (TSAN_TESTS): the unit tests, the scenario corpus
# (run, and diff against the
# host kernel where it can be observed), and the fuzzer against the
# reference model (and the kernel).  Ends with one closing line:
#   check: N passed, N failed, N skipped
set -u
# The lock validator is on in every step (the release build's default
# is off).
export ANONVM_LOCKDEP=1
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0

# Add the counts of a step's "...: N passed, N failed[, N skipped]" line.
tally() {
	local line=$1 p f s
	p=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line")
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
}

step() {	# step NAME COMMAND...: run, echo, tally its summary line
	local name=$1 out rc t0=$SECONDS
	shift
	echo "== $name"
	out=$("$@" 2>&1); rc=$?
	echo "$out"
	echo "-- $name: $((SECONDS - t0)) s"
	if grep -qE '[0-9]+ passed, [0-9]+ failed' <<<"$out"; then
		tally "$(grep -E '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)"
	elif [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
	else
		fail=$((fail + 1))
	fi
	# A step that failed without counting a failure still fails.
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && ! grep -qE '[1-9][0-9]* failed' <<<"$out"; then
		fail=$((fail + 1))
	fi
}

fuzz_seed=${AVM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# Allocation failures, under ASan and LeakSanitizer: every failure point of
# every operation on every design (tests/alloc_fail), and random failures
# over the whole corpus on every design the corpus passes (not the UNSAFE
# ones), the checker after every statement; then the fuzzer with them.
fault_injection() {
	local O=$1 d p designs
	designs=$("$O/anonvm" designs | awk '{print $1}')
	for d in $designs; do
		step "$O: alloc_fail, design $d" env AVM_DESIGN="$d" "$O/tests/alloc_fail"
	done
	# thp/ needs THP in the library: only with CORPUS_THP_LIB set (tests/corpus.sh)
	mapfile -t corpus < <(find tests/scenarios -name '*.scn' -type f | LC_ALL=C sort |
	grep -v "^tests/scenarios/thp/${CORPUS_THP_LIB:+-}")
	for d in $("$O/anonvm" designs | grep -v UNSAFE | awk '{print $1}'); do
		for p in 0.01 0.05 0.2; do
			step "$O: corpus, design $d, allocations fail with p=$p (seed $fuzz_seed)" \
				"$O/anonvm" run --quiet --design "$d" --fail-rate "$p" \
				--seed "$fuzz_seed" "${corpus[@]}"
		done
	done
	step "$O: fuzz with allocations failing, p=0.01 (seed $fuzz_seed)" \
		"$O/anonvm" fuzz --seed "$fuzz_seed" --ops 10000 --fail-rate 0.01
}
for O in build build-asan build-clang; do
	step "$O: unit tests" tests/run-tests.sh "$O"
	if [ -x tests/corpus.sh ]; then
		step "$O: scenario corpus" tests/corpus.sh "$O"
	fi
	if [ "$O" = build-clang ]; then
		continue	# clang's sanitizers: unit tests and corpus only
	elif [ "$O" = build ]; then
		step "$O: fuzz vs model (seed $fuzz_seed)" "$O/anonvm" fuzz --seed "$fuzz_seed" --ops 100000
		step "$O: historic races under the explorer (tests/races)" tests/races.sh "$O"
		if [ "$(id -u)" -eq 0 ] && [ -r /proc/kpagecount ]; then
			step "$O: fuzz vs kernel (seed $fuzz_seed)" "$O/anonvm" fuzz --native --seed "$fuzz_seed" --ops 10000
		else
			echo "== $O: fuzz vs kernel: skipped (needs root and /proc/kpagecount)"
			skip=$((skip + 1))
		fi
	else
		step "$O: fuzz vs model (seed $fuzz_seed)" "$O/anonvm" fuzz --seed "$fuzz_seed" --ops 10000
		fault_injection "$O"
	fi
done
# ThreadSanitizer: every program that runs threads against one fork
# family, and the single-threaded tests of the paths they share.  Not
# native (TSan's shadow memory sits where the scenarios map) nor the long
# single-threaded exhaustive ones (reclaim_fail, rmap_random, trees,
# scenario parsing), which ASan covers.
TSAN_TESTS="stress_family migrate_data mremap_order designs swap_lifecycle
	fork_cow fork_chain cve_2022_42703 design_anonmm design_pte_chain
	overly_anonymous vma_merge reuse_degree alloc_fail sizes rcu_anon_vma
	vma_lock"
if [ -d build-tsan/tests ]; then
	step "build-tsan: unit tests (threads)" tests/run-tests.sh build-tsan $TSAN_TESTS
fi

# What an embedder and a reader get: make install into a temporary DESTDIR
# and programs built against it (pkg-config, static and shared), the man
# pages (lint), the figures of compare --plot (skipped without gnuplot),
# the tutorial's design and listing (docs/new-design.md).
step "install into a DESTDIR, build against it" tests/install.sh
step "man pages" tests/man.sh build
step "growth exponents (compare --sweep)" tests/sweep.sh build
step "figures (compare --plot)" tests/plot.sh build
step "the new-design tutorial" tests/new_design.sh build

echo "check: total $SECONDS s"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
