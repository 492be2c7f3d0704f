#!/usr/bin/env bash
# The man pages: groff -ww -z and mandoc -T lint (where installed) find
# nothing; man -l renders each; anonvm(1) documents every subcommand and
# every compare option, libanonvm(3) every function of anonvm.h; the
# example program of libanonvm(3) builds against the tree and runs.
set -u
cd "$(dirname "$0")/.."
O=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local what=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/log" | tail -n 20; fi; }
quiet() { local out; out=$("$@" 2>&1) || { echo "$out"; return 1; }; [ -z "$out" ] || { echo "$out"; return 1; }; }

for m in man/*.[0-9]; do
	if command -v groff >/dev/null; then
		check "groff -ww -z $m" quiet groff -man -ww -z "$m"
	else
		skip=$((skip + 1)); echo "SKIP groff $m: groff not installed"
	fi
	if command -v mandoc >/dev/null; then
		check "mandoc -T lint $m" quiet mandoc -T lint "$m"
	else
		skip=$((skip + 1)); echo "SKIP mandoc $m: mandoc not installed"
	fi
	if command -v man >/dev/null; then
		check "man -l $m renders without warnings" \
			sh -c "MANWIDTH=80 man -l '$m' 2>'$tmp/err' | grep -q NAME && ! [ -s '$tmp/err' ]"
	fi
done
for c in $("$O/anonvm" --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}'); do
	check "anonvm(1) documents '$c'" grep -q "^\.SS $c\$" man/anonvm.1
done
for o in $("$O/anonvm" compare --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	[ "$o" = --help ] && continue
	check "anonvm(1) documents compare $o" grep -q -- "$(sed 's/-/\\\\-/g' <<<"$o")" man/anonvm.1
done
for f in $(scripts/api-functions.sh include/anonvm/anonvm.h); do
	check "libanonvm(3) documents $f" grep -q "^\.BR* $f\b\|\"[^\"]* $f(" man/libanonvm.3
done
sed -n '/^\.SH EXAMPLES/,/^\.EE/p' man/libanonvm.3 | sed '1,/^\.EX/d; /^\.EE/d; s/\\e/\\/g' >"$tmp/example.c"
check "libanonvm(3) example builds" cc -std=gnu11 -Wall -Werror -Iinclude -o "$tmp/example" \
	"$tmp/example.c" "$O/libanonvm.a" $(pkg-config --libs liburcu-memb) -lm -pthread
check "libanonvm(3) example runs" sh -c "'$tmp/example' | grep -q '^5 walks, 9 VMAs visited$'"
echo "man: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
