#!/bin/sh
# Install the Debian packages anonvm needs to build and test, if any are
# missing.  Needs root (or sudo) only when something must be installed.
set -e
PKGS="gcc make pkg-config libjansson-dev libcmocka-dev gnuplot-nox groff-base mandoc man-db clang libclang-rt-14-dev liburcu-dev"
missing=""
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
