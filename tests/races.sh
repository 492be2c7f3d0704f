#!/usr/bin/env bash
# Historic races, found by the interleaving explorer (anonvm explore), not
# by hand: each scenario of tests/races/ must fail on the UNSAFE design
# that lacks the fix (within BROKEN schedules; the failing seed and the
# replay line are printed) and pass FIXED schedules on the designs that
# have it.  PCT at depth 3 (two preemptions: each race needs a thread
# stopped inside an operation and the other one stopped in a window).
# Seeds are fixed, so the run is the same every time.
#   tests/races.sh BUILD_DIR
set -u
O=${1:-build}
A="$O/anonvm"
BROKEN=${RACES_BROKEN:-10000}
FIXED=${RACES_FIXED:-2000}
pass=0 fail=0

# race SCENARIO BROKEN_DESIGN FIXED_DESIGN...
race() {
	local scn=tests/races/$1 broken=$2 d out rc
	shift 2
	out=$("$A" explore --design "$broken" --depth 3 --seed 1 \
		--schedules "$BROKEN" "$scn" 2>&1); rc=$?
	if [ $rc -eq 1 ] && grep -q '^FAIL' <<<"$out"; then
		echo "ok: $scn on $broken: $(grep -m1 '^FAIL' <<<"$out" | sed 's/^FAIL [^:]*: //')"
		grep -m1 '^replay:' <<<"$out" | sed 's/^/    /'
		pass=$((pass + 1))
	else
		echo "FAILED: $scn on $broken: no failing schedule in $BROKEN (exit $rc)"
		echo "$out" | tail -n 5
		fail=$((fail + 1))
	fi
	for d in "$@"; do
		out=$("$A" explore --design "$d" --depth 3 --seed 1 \
			--schedules "$FIXED" --no-shrink "$scn" 2>&1); rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok: $scn on $d: $(grep -m1 '^PASS' <<<"$out" | sed 's/^PASS [^:]*: //')"
			pass=$((pass + 1))
		else
			echo "FAILED: $scn on $d (exit $rc)"
			echo "$out" | tail -n 8
			fail=$((fail + 1))
		fi
	done
}

race mremap_migrate.scn linux-no-rmap-locks linux
race mremap_migrate.scn avc-2010-no-moveto-tail avc-2010
race fork_migrate.scn linux-fork-link-late linux
race adjust_migrate.scn avc-2010-no-adjust-lock avc-2010 linux
echo "races: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
