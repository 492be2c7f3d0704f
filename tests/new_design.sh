#!/usr/bin/env bash
# docs/new-design.md cannot rot: its listing is src/rmap/reuse_idle.c
# byte for byte, its registration lines are in src/rmap/rmap.c, the
# design is listed, and the commands the tutorial shows run (a small
# compare with the checker on, the corpus).
set -u
cd "$(dirname "$0")/.."
O=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local what=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/log" | tail -n 20; fi; }

sed -n '/^<!-- BEGIN src\/rmap\/reuse_idle.c -->$/,/^<!-- END src\/rmap\/reuse_idle.c -->$/p' \
	docs/new-design.md | sed '1,2d; $d' | sed '$d' >"$tmp/listing.c"
check "the tutorial's listing is src/rmap/reuse_idle.c" diff -u src/rmap/reuse_idle.c "$tmp/listing.c"
for l in 'extern const struct rmap_ops rmap_reuse_idle_ops;' '	&rmap_reuse_idle_ops,'; do
	check "src/rmap/rmap.c has '$l'" grep -qxF "$l" src/rmap/rmap.c
	check "the tutorial shows '$l'" grep -qxF "$l" docs/new-design.md
done
check "anonvm designs lists reuse-idle" sh -c "'$O/anonvm' designs | grep -q '^reuse-idle '"
check "compare runs it, checked" "$O/anonvm" compare --design reuse-idle --check \
	--children 10 --pages 10 --generations 100 --split-pages 64 \
	--mremap-children 5 --mremap-pages 20 --tree-ops 300
# thp/ needs THP in the library: only with CORPUS_THP_LIB set (tests/corpus.sh)
mapfile -t corpus < <(find tests/scenarios -name '*.scn' -type f | LC_ALL=C sort |
	grep -v "^tests/scenarios/thp/${CORPUS_THP_LIB:+-}")
check "the corpus passes on it" "$O/anonvm" run --quiet --design reuse-idle "${corpus[@]}"
echo "new-design: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
