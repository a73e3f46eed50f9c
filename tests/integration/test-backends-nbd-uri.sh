#!/bin/bash
# backends: NBD URIs and servers that fail: a socket that does not exist, a
# refused TCP port, a server that accepts and never answers (connect
# timeout), a server that stops answering mid-read (request timeout), a
# server that dies mid-read, and the private qemu-nbd of a local image dying.
# Each is one clear error naming the URI or image, in bounded time.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
requires qemu-nbd --version
: "${DISK_READ:?DISK_READ must point at the disk-read tool (ctest sets it)}"
cd "$T"

qemu-img create -q -f qcow2 vm.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x5a 0 64M' vm.qcow2 > /dev/null

# run_bounded SECONDS CMD...: run CMD, fail if it takes SECONDS or more.
run_bounded () {
  local limit=$1; shift
  local t0=$SECONDS rc=0
  timeout $((limit + 30)) "$@" || rc=$?
  [ $((SECONDS - t0)) -lt "$limit" ] || fail "$* took $((SECONDS - t0)) s (limit $limit)"
  return $rc
}

# Stop the current qemu-nbd: SIGTERM, then SIGKILL if it has not gone in 5 s
# (a stopped-then-continued qemu-nbd has been seen to ignore the TERM).
stop_server () {
  kill -CONT $qpid 2> /dev/null; kill $qpid 2> /dev/null
  for i in $(seq 50); do kill -0 $qpid 2> /dev/null || break; sleep 0.1; done
  kill -9 $qpid 2> /dev/null
  wait $qpid 2> /dev/null || true
}

ere () { printf '%s' "$1" | sed 's/[][\\.*^$?+(){}|]/\\&/g'; }   # quote for grep -E

start_server () {   # start qemu-nbd on $T/$1, sets qpid
  rm -f "$T/$1"
  qemu-nbd -r -t -f qcow2 --shared=4 -k "$T/$1" vm.qcow2 2> /dev/null &
  qpid=$!
  cleanup_fn "kill -CONT $qpid 2> /dev/null; kill $qpid 2> /dev/null"
  for i in $(seq 100); do [ -S "$T/$1" ] && return; sleep 0.1; done
  fail "qemu-nbd did not create $1"
}

# A socket that does not exist.
uri="nbd+unix:///?socket=$T/nope.sock"
if run_bounded 10 "$DISK_READ" "$uri" size 2> err; then fail "missing socket: opened"; fi
grep -q "^disk-read: $uri: nbd_aio_connect_uri: connect: No such file or directory$" err \
  || fail "missing socket: $(cat err)"

# A TCP port nobody listens on (port 1 on localhost).
if run_bounded 10 "$DISK_READ" nbd://127.0.0.1:1/ size 2> err; then fail "refused port: opened"; fi
grep -q "^disk-read: nbd://127.0.0.1:1/: .*Connection refused$" err || fail "refused port: $(cat err)"

# A URI libnbd cannot parse.
if run_bounded 10 "$DISK_READ" 'nbd+unix:///' size 2> err; then fail "bad URI: opened"; fi
grep -q "^disk-read: nbd+unix:///: " err || fail "bad URI: $(cat err)"

# Accepts but never answers: qemu-nbd stopped with SIGSTOP (the kernel
# still queues the connection).  --timeout 2 must end it.
start_server stopped.sock
kill -STOP $qpid
uri="nbd+unix:///?socket=$T/stopped.sock"
if run_bounded 15 "$DISK_READ" --timeout 2 "$uri" size 2> err; then fail "stopped server: opened"; fi
grep -q "^disk-read: $uri: connecting: no NBD handshake from the server in 2 seconds$" err \
  || fail "stopped server: $(cat err)"
stop_server

# Stops answering mid-read: disk-read blocks on a full pipe, we stop the
# server, then let the pipe drain: its next request must time out.
start_server midread.sock
uri="nbd+unix:///?socket=$T/midread.sock"
rc=0
run_bounded 30 bash -c '"$0" --timeout 2 --request 1M "$1" raw 0 64M 2> err |
  { sleep 1; kill -STOP '$qpid'; cat > /dev/null; }' "$DISK_READ" "$uri" || rc=$?
grep -Eq "^disk-read: $(ere "$uri"): read of 1048576 bytes at offset [0-9]+: nbd_pread: no answer from the NBD server in 2 seconds$" err \
  || fail "server stopped mid-read: $(cat err)"
stop_server

# Dies mid-read.
start_server dies.sock
uri="nbd+unix:///?socket=$T/dies.sock"
run_bounded 30 bash -c '"$0" --request 1M "$1" raw 0 64M 2> err |
  { sleep 1; kill -9 '$qpid'; cat > /dev/null; }' "$DISK_READ" "$uri" || true
wait $qpid 2> /dev/null
grep -Eq "^disk-read: $(ere "$uri"): read of 1048576 bytes at offset [0-9]+: nbd_.*" err \
  || fail "server died mid-read: $(cat err)"

# The private qemu-nbd of a local image dies mid-read.
run_bounded 30 bash -c '"$0" --request 1M "$1" raw 0 64M 2> err |
  { sleep 1; pkill -9 -f "^qemu-nbd --read-only .*-- $1\$"; cat > /dev/null; }' \
  "$DISK_READ" "$T/vm.qcow2" || true
grep -Eq "^disk-read: $(ere "$T/vm.qcow2"): read of 1048576 bytes at offset [0-9]+: nbd_.*" err \
  || fail "private qemu-nbd died mid-read: $(cat err)"
echo OK
