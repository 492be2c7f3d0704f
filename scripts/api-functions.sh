#!/bin/sh
# The functions include/anonvm/anonvm.h declares (one per line): the
# Makefile links each through its lock-validator wrapper (src/lib/api_check.c).
sed -n 's/^[a-z][^(]*[ *]\(avm_[a-z0-9_]*\)(.*/\1/p' "${1:-include/anonvm/anonvm.h}"
