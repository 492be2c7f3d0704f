#!/usr/bin/env bash
# Run the scenario corpus (tests/scenarios/THEME/NAME.scn) against one build.
#
# usage: tests/corpus.sh BUILD_DIR
#
#  1. `BUILD_DIR/anonvm run --quiet` on every scenario: the library must
#     meet every expectation and pass the invariant checker at every check.
#  2. `BUILD_DIR/anonvm diff --quiet` on every scenario, comparing the
#     library with the host kernel - only when
#       - BUILD_DIR is the release build `build` (a sanitizer build cannot
#         run the kernel executor: ASan's shadow memory covers part of the
#         scenario window, which `anonvm diff` would report as a skip),
#       - we run as root and /proc/kpagecount is readable.
#     If no swap area is active, a temporary 64 MiB swap file is created
#     (and removed on exit) so that `pageout` is compared for real; if that
#     fails, the diff still runs and pageout is reported unsupported by the
#     kernel executor (its swap state is then not compared).
#     CORPUS_NEW_SWAP=1 makes the temporary swap file even if swap is
#     already active (to exercise that path).
#
#  3. THP scenarios (tests/scenarios/thp/): until the library's THP is
#     merged, CORPUS_THP_LIB is 0 by default and they are left out of steps
#     1 and 2 (the library has no THP yet, so it would fail their
#     expect-thp lines); they run on the host kernel only, with
#     `BUILD_DIR/anonvm native`, which must meet every expectation (under
#     the same conditions as step 2).  CORPUS_THP_LIB=1 runs them in steps
#     1 and 2 like every other scenario (and not in step 3): the default
#     once the library's THP is in.
#
# Every (scenario, step) pair counts once.  The last line is
#   corpus: N passed, N failed, N skipped
# Exit status 0 only if nothing failed.
set -u

if [ $# -ne 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
O=${1%/}
BIN=$O/anonvm
HERE=$(cd "$(dirname "$0")" && pwd)
SCN_DIR=$HERE/scenarios

if [ ! -x "$BIN" ]; then
	echo "corpus: $BIN not found (build it with make)" >&2
	echo "corpus: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

# Run a private copy of the binary, so that a rebuild of BUILD_DIR during
# the run (other people's make) cannot pull it out from under us.
BINDIR=$(mktemp -d "${TMPDIR:-/tmp}/anonvm-corpus-bin.XXXXXX") || exit 1
trap 'rm -rf -- "$BINDIR"' EXIT
for try in 1 2 3 4 5 6 7 8 9 10; do
	if cp "$BIN" "$BINDIR/anonvm" 2>/dev/null && "$BINDIR/anonvm" designs >/dev/null 2>&1; then
		break
	fi
	[ "$try" -eq 10 ] && { echo "corpus: cannot run $BIN" >&2
			       echo "corpus: 0 passed, 1 failed, 0 skipped"; exit 1; }
	sleep 3		# being rebuilt?
done
RUN=$BINDIR/anonvm

THP_LIB=${CORPUS_THP_LIB:-0}
mapfile -t ALL < <(find "$SCN_DIR" -name '*.scn' -type f | LC_ALL=C sort)
FILES=() THP_FILES=()
for f in "${ALL[@]}"; do
	if [ "$THP_LIB" != 1 ] && [[ $f == "$SCN_DIR"/thp/* ]]; then
		THP_FILES+=("$f")
	else
		FILES+=("$f")
	fi
done
if [ ${#FILES[@]} -eq 0 ]; then
	echo "corpus: no scenarios under $SCN_DIR" >&2
	echo "corpus: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

pass=0 fail=0 skip=0
failed=()

rel() { printf '%s' "${1#"$SCN_DIR"/}"; }

# ---- 1. the library -------------------------------------------------------
echo "== run: ${#FILES[@]} scenarios on the library ($BIN)"
for f in "${FILES[@]}"; do
	out=$("$RUN" run --quiet "$f" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("run $(rel "$f")")
		echo "FAIL run  $(rel "$f") (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done

# ---- 2. the host kernel ----------------------------------------------------
why_no_diff=""
if [ "$(basename "$O")" != "build" ]; then
	why_no_diff="$O is not the release build 'build' (a sanitizer build cannot run scenarios on the kernel: ASan shadow memory overlaps the scenario window)"
elif [ "$(id -u)" -ne 0 ]; then
	why_no_diff="not running as root (the kernel executor needs /proc/kpagecount and PFNs in /proc/PID/pagemap)"
elif ! head -c 8 /proc/kpagecount >/dev/null 2>&1; then
	why_no_diff="/proc/kpagecount is not readable"
fi

SWAPDIR=""
SWAPFILE=""
swap_cleanup() {
	if [ -n "$SWAPFILE" ]; then
		swapoff "$SWAPFILE" 2>/dev/null
		SWAPFILE=""
	fi
	if [ -n "$SWAPDIR" ]; then
		rm -rf -- "$SWAPDIR"
		SWAPDIR=""
	fi
}
cleanup() {
	swap_cleanup
	rm -rf -- "$BINDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

swap_active() {
	[ -r /proc/swaps ] && [ "$(wc -l </proc/swaps)" -gt 1 ]
}

# Try to make and enable a 64 MiB swap file in a new directory under $1.
try_swapfile() {
	local base=$1 dir file
	[ -d "$base" ] && [ -w "$base" ] || return 1
	case $(stat -f -c %T "$base" 2>/dev/null) in
	tmpfs|ramfs|overlayfs|nfs*|fuse*|squashfs) return 1 ;;
	esac
	dir=$(mktemp -d "$base/anonvm-corpus-swap.XXXXXX") || return 1
	file=$dir/swapfile
	SWAPDIR=$dir
	if ! fallocate -l 64M "$file" 2>/dev/null; then
		rm -f -- "$file"
		dd if=/dev/zero of="$file" bs=1M count=64 status=none 2>/dev/null ||
			{ swap_cleanup; return 1; }
	fi
	chmod 600 "$file"
	if mkswap "$file" >/dev/null 2>&1 && swapon "$file" 2>/dev/null; then
		SWAPFILE=$file
		echo "== swap: temporary 64 MiB swap file $file (removed on exit)"
		return 0
	fi
	swap_cleanup
	return 1
}

if [ -n "$why_no_diff" ]; then
	echo "== diff: skipped: $why_no_diff"
	skip=$((skip + ${#FILES[@]} + ${#THP_FILES[@]}))
	[ ${#THP_FILES[@]} -gt 0 ] && echo "== native: ${#THP_FILES[@]} THP scenarios skipped too"
else
	if swap_active && [ -z "${CORPUS_NEW_SWAP:-}" ]; then
		echo "== swap: already active ($(tail -n +2 /proc/swaps | awk '{print $1}' | paste -sd ' '))"
	else
		made=false
		for base in "${TMPDIR:-/tmp}" /tmp /var/tmp "${HOME:-/root}"; do
			if try_swapfile "$base"; then
				made=true
				break
			fi
		done
		if ! $made; then
			echo "== swap: could not create or enable a temporary swap file (swapon failed);" \
			     "pageout statements will be unsupported on the kernel and their swap state not compared"
		fi
	fi
	echo "== diff: ${#FILES[@]} scenarios, library vs host kernel"
	for f in "${FILES[@]}"; do
		out=$("$RUN" diff --quiet "$f" 2>&1)
		rc=$?
		case $rc in
		0)  pass=$((pass + 1)) ;;
		77) skip=$((skip + 1))
		    echo "SKIP diff $(rel "$f"): $(printf '%s\n' "$out" | grep -v '^diff:' | tail -n 1)" ;;
		*)  fail=$((fail + 1))
		    failed+=("diff $(rel "$f")")
		    echo "FAIL diff $(rel "$f") (exit $rc)"
		    printf '%s\n' "$out" | sed 's/^/    /' ;;
		esac
	done
	# ---- 3. THP scenarios on the kernel only (see the header) ----------
	if [ ${#THP_FILES[@]} -gt 0 ]; then
		echo "== native: ${#THP_FILES[@]} THP scenarios on the host kernel only" \
		     "(not on the library: CORPUS_THP_LIB=1 to run and diff them)"
	fi
	for f in "${THP_FILES[@]}"; do
		out=$("$RUN" native "$f" 2>&1)
		rc=$?
		case $rc in
		0)  pass=$((pass + 1)) ;;
		77) skip=$((skip + 1))
		    echo "SKIP native $(rel "$f"): $(printf '%s\n' "$out" | tail -n 1)" ;;
		*)  fail=$((fail + 1))
		    failed+=("native $(rel "$f")")
		    echo "FAIL native $(rel "$f") (exit $rc)"
		    printf '%s\n' "$out" | grep -E 'FAILED|broken|cannot' | sed 's/^/    /' ;;
		esac
	done
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed[@]}"
fi
echo "corpus: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
