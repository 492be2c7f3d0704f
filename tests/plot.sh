#!/usr/bin/env bash
# anonvm compare --plot at a small size: every figure is written as SVG and
# PNG (checked by their signatures), with its data and script, and gnuplot
# says nothing on stderr.  Skips (77) without gnuplot.
set -u
O=${1:-build}
if ! command -v gnuplot >/dev/null; then
	echo "plot: skipped: gnuplot not installed (Debian: gnuplot-nox)"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

"$O/anonvm" compare --plot "$dir/fig" --children 30 --pages 20 \
	--generations 300 --workload forking-server --workload fork-chain \
	>"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 0 ] && ok "compare --plot exits 0" || bad "compare --plot exits $rc"
if [ -s "$dir/err" ]; then
	bad "nothing on stderr:"; sed 's/^/    /' "$dir/err"
else
	ok "nothing on stderr"
fi
for f in fork-chain-anon_vmas forking-server-visits forking-server-rmap-bytes \
	 walk-cost-vs-rmap-bytes; do
	if head -c 8 "$dir/fig/$f.png" 2>/dev/null | od -An -tx1 | \
	   grep -q '89 50 4e 47 0d 0a 1a 0a'; then
		ok "$f.png is a PNG"
	else
		bad "$f.png is a PNG"
	fi
	if grep -q '<svg' "$dir/fig/$f.svg" 2>/dev/null &&
	   grep -q '</svg>' "$dir/fig/$f.svg"; then
		ok "$f.svg is an SVG"
	else
		bad "$f.svg is an SVG"
	fi
	[ -s "$dir/fig/$f.gp" ] && ok "$f.gp written" || bad "$f.gp written"
	grep -q 'Seed 20' "$dir/fig/$f.gp" && ok "$f names its seed" ||
		bad "$f names its seed"
done
# the fork-chain data: avc-2010 has generation + 1 anon_vmas at the end
last=$(awk '/^# avc-2010/ {on = 1; next} /^#/ {on = 0} on && NF {l = $0} END {print l}' \
	"$dir/fig/fork-chain-anon_vmas.dat")
# (generation, anon_vmas, avcs, rmap bytes: the bytes follow the struct
# sizes, which tests/sizes.c pins down)
case "$last" in
"300 301 601 "[1-9]*) ok "fork-chain data: avc-2010 ends at 301 anon_vmas" ;;
*) bad "fork-chain data: avc-2010 ends with '$last', expected '300 301 601 BYTES'" ;;
esac
echo "plot: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
