#!/usr/bin/env bash
# Builds the relay engine with ASan + UBSan and runs its C driver (native/test/relay_test.c).
# Any sanitizer report fails the run (halt_on_error, UBSan non-recoverable).
set -euo pipefail
cd "$(dirname "$0")"
out="${TMPDIR:-/tmp}/corral-relay-test-$$"
trap 'rm -f "$out"' EXIT
cc -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -o "$out" relay_test.c ../relay.c ../proxy_header.c -lpthread
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out"
