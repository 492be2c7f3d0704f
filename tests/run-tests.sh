#!/usr/bin/env bash
# Run every test program of one build directory.  A program passes with exit
# 0, is skipped with exit 77 (it prints why), and fails otherwise.  Output of
# each program goes to $O/tests/NAME.log and is shown when it fails.
# Names after the directory run only those programs.
set -u
O=${1:-build}
shift || true
only=" $* "
pass=0 fail=0 skip=0 failed=()
for t in "$O"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	[ $# -eq 0 ] || [[ "$only" == *" $name "* ]] || continue
	start=$(date +%s)
	"$t" >"$t.log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)); printf 'PASS %-32s %4ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP %-32s %s\n' "$name" "$(tail -n 1 "$t.log")" ;;
	*)  fail=$((fail + 1)); failed+=("$name")
	    printf 'FAIL %-32s (exit %d)\n' "$name" "$rc"
	    tail -n 40 "$t.log" | sed 's/^/    /' ;;
	esac
done
echo "$O: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
