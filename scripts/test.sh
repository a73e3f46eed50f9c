#!/bin/sh
# ovscan — the whole test suite, from a fresh Debian 12 machine:
#   1. installs the Debian packages (scripts/install-deps.sh; needs root),
#   2. builds with -Werror and runs every test (unit + integration) with ctest,
#   3. builds again with ASan/UBSan and runs every test again.
# Integration tests need root (loop devices, FUSE for ntfs-3g).
# Usage: sudo scripts/test.sh            (OVSCAN_SKIP_DEPS=1 to skip step 1,
#                                         OVSCAN_SKIP_SANITIZE=1 to skip step 3)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${OVSCAN_SKIP_DEPS:-0}" != 1 ]; then
  scripts/install-deps.sh
fi

jobs=$(nproc)
run_suite () {
  dir=$1; shift
  cmake -S . -B "$dir" -DOVSCAN_WERROR=ON -DOVSCAN_REQUIRE_GUESTFS=ON "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "=== build with -Werror, run all tests ==="
run_suite build/test

if [ "${OVSCAN_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "=== ASan/UBSan build, run all tests ==="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build/sanitize -DOVSCAN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
