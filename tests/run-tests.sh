#!/usr/bin/env bash
# Run every test program of one build directory.  A program passes with exit
# 0, is skipped with exit 77 (it prints why), and fails otherwise.  Output of
# each program goes to $O/tests/NAME.log and is shown when it fails.
#
#   tests/run-tests.sh [--tap] [BUILD-DIR]
#
# --tap prints TAP version 13 as the kernel's kselftest does, for a harness
# of one's own: "1..N", then "ok N selftests: anonvm: NAME" (with
# "# SKIP reason" for a skip) or "not ok N ... # exit=RC", each program's
# output before its line as "# " comments (prove(1) parses it:
# `prove -e cat <(tests/run-tests.sh --tap build)`).  Names after the
# directory run only those programs.
set -u
# Every test runs with the lock validator on unless the caller says 0.
export ANONVM_LOCKDEP=${ANONVM_LOCKDEP:-1}
tap=false
if [ "${1:-}" = --tap ]; then
	tap=true
	shift
fi
O=${1:-build}
shift || true
only=" $* "
pass=0 fail=0 skip=0 n=0 tests=()
for t in "$O"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	[ $# -eq 0 ] || [[ "$only" == *" $(basename "$t") "* ]] || continue
	tests+=("$t")
done
if $tap; then
	echo "TAP version 13"
	echo "1..${#tests[@]}"
fi
for t in "${tests[@]}"; do
	name=$(basename "$t")
	n=$((n + 1))
	start=$(date +%s)
	"$t" >"$t.log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*)  fail=$((fail + 1)) ;;
	esac
	if $tap; then
		sed 's/^/# /' "$t.log"
		case $rc in
		0)  echo "ok $n selftests: anonvm: $name" ;;
		77) echo "ok $n selftests: anonvm: $name # SKIP $(tail -n 1 "$t.log")" ;;
		*)  echo "not ok $n selftests: anonvm: $name # exit=$rc" ;;
		esac
		continue
	fi
	case $rc in
	0)  printf 'PASS %-32s %4ss\n' "$name" "$secs" ;;
	77) printf 'SKIP %-32s %s\n' "$name" "$(tail -n 1 "$t.log")" ;;
	*)  printf 'FAIL %-32s (exit %d)\n' "$name" "$rc"
	    tail -n 40 "$t.log" | sed 's/^/    /' ;;
	esac
done
if $tap; then
	echo "# $O: $pass passed, $fail failed, $skip skipped"
else
	echo "$O: $pass passed, $fail failed, $skip skipped"
fi
[ "$fail" -eq 0 ]
