# ovscan — shared helpers for the shell integration tests (source this file).
#
#   requires CMD ARGS…   skip (exit 77) with a reason if CMD ARGS… fails
#   cleanup_fn FN ARGS…  run at exit (LIFO), even on failure
#   fail MSG             print and exit 1
#   expect_eq A B MSG
#   tmpdir               $T, a private directory removed at exit
set -u

: "${OVSCAN:?OVSCAN must point at the ovscan binary (ctest sets it)}"
: "${OVSCAN_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TESTFILES=/usr/share/clamav-testfiles

_cleanups=()
cleanup_fn () { _cleanups+=("$*"); }
_run_cleanups () {
  local i
  for (( i=${#_cleanups[@]}-1; i>=0; i-- )); do eval "${_cleanups[$i]}" || true; done
}
trap _run_cleanups EXIT

requires () {
  if ! "$@" >/dev/null 2>&1; then
    echo "SKIP: required command not available: $*" >&2
    exit 77
  fi
}

requires_root () {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (loop mounts)" >&2
    exit 77
  fi
}

fail () { echo "FAIL: $*" >&2; exit 1; }

expect_eq () {
  [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/ovscan-test.XXXXXX")
cleanup_fn "rm -rf '$T'"

# The project's test signatures, for --test-signatures-free runs.
OVSCAN_SIGS="$OVSCAN_SOURCE_DIR/signatures/ovscan-test.ndb"
