#!/usr/bin/env bash
# `make install` into a temporary DESTDIR, then what an embedder does:
# build tests/install/embed.c with `pkg-config --cflags --libs anonvm`
# against the shared library and (--static, the archive) statically, run
# both; the .so has its soname and exports exactly the functions of
# anonvm.h; the installed command and man pages work; `make uninstall`
# leaves nothing behind.
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root prefix=/usr/local
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { local what=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/log" | tail -n 20; fi; }

check "make install DESTDIR=... PREFIX=$prefix" make -s install DESTDIR="$root" PREFIX="$prefix"
lib=$root$prefix/lib
for f in bin/anonvm lib/libanonvm.a lib/libanonvm.so.0.1.0 include/anonvm/anonvm.h \
	 lib/pkgconfig/anonvm.pc share/man/man1/anonvm.1 \
	 share/man/man5/anonvm-scenario.5 share/man/man3/libanonvm.3; do
	check "installed $f" test -s "$root$prefix/$f"
done
check "libanonvm.so.0 -> libanonvm.so.0.1.0" test "$(readlink "$lib/libanonvm.so.0")" = libanonvm.so.0.1.0
check "libanonvm.so -> libanonvm.so.0" test "$(readlink "$lib/libanonvm.so")" = libanonvm.so.0
check "soname libanonvm.so.0" sh -c "readelf -d '$lib/libanonvm.so.0.1.0' | grep -q 'SONAME.*\[libanonvm.so.0\]'"
nm -D --defined-only "$lib/libanonvm.so.0.1.0" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort >"$tmp/exported"
scripts/api-functions.sh include/anonvm/anonvm.h | sort >"$tmp/declared"
check "exported symbols = the functions of anonvm.h" diff "$tmp/exported" "$tmp/declared"

export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
check "pkg-config knows anonvm 0.1.0" test "$(pkg-config --modversion anonvm)" = 0.1.0
want="ok anon_vmas=4 walks=32 visits=56"
# shellcheck disable=SC2046
check "shared: cc \$(pkg-config --cflags --libs anonvm)" \
	cc -std=gnu11 -Wall -Werror -o "$tmp/embed-shared" tests/install/embed.c $(pkg-config --cflags --libs anonvm)
check "shared: links libanonvm.so.0" sh -c "readelf -d '$tmp/embed-shared' | grep -q 'NEEDED.*\[libanonvm.so.0\]'"
check "shared: runs: $want" test "$(LD_LIBRARY_PATH=$lib "$tmp/embed-shared")" = "$want"
# --static: the private libraries too; -l:libanonvm.a picks the archive
# where -lanonvm would pick the .so beside it.
static_libs=$(pkg-config --static --libs anonvm | sed 's/-lanonvm\b/-l:libanonvm.a/')
# shellcheck disable=SC2046,SC2086
check "static: cc \$(pkg-config --cflags --static --libs anonvm)" \
	cc -std=gnu11 -Wall -Werror -o "$tmp/embed-static" tests/install/embed.c $(pkg-config --cflags anonvm) $static_libs
check "static: no libanonvm.so needed" sh -c "! readelf -d '$tmp/embed-static' | grep -q libanonvm"
check "static: runs: $want" test "$("$tmp/embed-static")" = "$want"
check "installed anonvm lists the designs" sh -c "'$root$prefix/bin/anonvm' designs | grep -q '^linux'"
if command -v man >/dev/null; then
	check "man -l renders libanonvm(3)" sh -c "MANWIDTH=80 man -l '$root$prefix/share/man/man3/libanonvm.3' | grep -q avm_sys_create"
fi
check "make uninstall" make -s uninstall DESTDIR="$root" PREFIX="$prefix"
left=$(find "$root" -type f -o -type l)
check "nothing left after uninstall" test -z "$left"
[ -z "$left" ] || echo "$left" | sed 's/^/    /'
echo "install: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
