#!/usr/bin/env bash
# anonvm compare --sweep: the forking server at N = 10 and 100 children
# (4 pages, every frame walked) gives the exact values and the fitted
# exponents ln(101/11)/ln(10) = 0.96 (visits per walk of the 2004 single
# list; anon_vmas of the chain design) and ln(1.990/1.909)/ln(10) = 0.02;
# the JSON form carries the same; bad sizes are usage errors.
set -u
O=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
run=("$O/anonvm" compare --workload forking-server --pages 4 --walk-budget 0
     --design anon-vma-2004 --design linux --sweep 10,100)
"${run[@]}" >"$tmp/out" 2>&1 || bad "compare --sweep exits 0"
row() {	# row DESIGN METRIC -> the values and the exponent
	# a design's first row has its name before the metric (5 fields)
	awk -v d="$1" -v m="$2" 'NF == 5 {cur = $1; $1 = ""; $0 = $0}
		cur == d && $1 == m {$1 = ""; print; exit}' "$tmp/out" | sed 's/^ *//'
}
expect() {
	local got
	got=$(row "$1" "$2")
	[ "$got" = "$3" ] && ok "$1 $2: $3" || bad "$1 $2: expected '$3', got '$got'"
}
expect anon-vma-2004 vmas_visited_per_walk "11.000 101.000 0.96"
expect anon-vma-2004 anon_vmas "1 1 0.00"
expect linux vmas_visited_per_walk "1.909 1.990 0.02"
expect linux anon_vmas "11 101 0.96"
expect linux avcs "21 201 0.98"
"${run[@]}" --json >"$tmp/json" 2>&1
if grep -q '"parameter": "children"' "$tmp/json" && grep -q '"exponent": 0.9629' "$tmp/json"; then
	ok "JSON: parameter children, exponent 0.9629..."
else
	bad "JSON: parameter children, exponent 0.9629..."
fi
for bad_sweep in 10 100,10 0,10 x,10; do
	"$O/anonvm" compare --workload forking-server --sweep "$bad_sweep" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] && ok "--sweep $bad_sweep is a usage error" || bad "--sweep $bad_sweep: exit $rc, expected 2"
done
echo "sweep: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
