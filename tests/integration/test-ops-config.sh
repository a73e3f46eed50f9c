#!/bin/bash
# The configuration file: every kind of bad line is an error naming the file
# and the line (exit 2, for any command); a missing --config file is an
# error, a missing default one is not; and the precedence: built-in default
# < global key < [vm NAME] < command line, for the state path, signature
# databases, size limits, exclusions, max-time, skip and on-detect.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
requires_root
requires sqlite3 --version
requires python3 --version

C="$T/ovscan.conf"
bad_config () {  # LINE-NO EXPECTED-TEXT CONFIG-TEXT
  printf '%s' "$3" > "$C"
  set +e
  "$OVSCAN" --config "$C" --state "$T/unused.db" list > /dev/null 2> "$T/err"
  local s=$?
  set -e
  expect_eq "$s" 2 "bad config ($2): exit status"
  grep -qF "ovscan: $C:$1: $2" "$T/err" || fail "bad config: expected '$C:$1: $2', got: $(cat "$T/err")"
}
bad_config 3 "unknown key 'colour'" $'# comment\n\ncolour = blue\n'
bad_config 1 "max-filesize: " $'max-filesize = 10Q\n'
bad_config 2 "threads: expected a number from 1 to 64, got '0'" $'; c\nthreads = 0\n'
bad_config 1 "max-time: bad duration 'forever'" $'max-time = forever\n'
bad_config 1 "log: expected syslog or stderr, got 'mail'" $'log = mail\n'
bad_config 1 "test-signatures: expected yes or no, got 'maybe'" $'test-signatures = maybe\n'
bad_config 2 "expected 'key = value', '[vm NAME]' or a comment" $'state = /x\njust words\n'
bad_config 1 "unknown section '[weird]'" $'[weird]\n'
bad_config 1 "unterminated section header" $'[vm web01\n'
bad_config 1 "invalid disk name 'bad name!'" $'[vm bad name!]\n'
bad_config 2 "key 'threads' is not allowed in a [vm] section (allowed: skip, max-filesize, max-scansize, on-detect, exclude)" $'[vm a]\nthreads = 2\n'
bad_config 3 "second [vm a] section" $'[vm a]\n[global]\n[vm a]\n'
bad_config 2 "skip: expected yes or no, got 'sometimes'" $'[vm a]\nskip = sometimes\n'
bad_config 1 "missing key before '='" $'= value\n'
bad_config 1 "state: missing value" $'state =   \n'
printf 'state = /x\0y\n' > "$C"
set +e; "$OVSCAN" --config "$C" list > /dev/null 2> "$T/err"; s=$?; set -e
expect_eq "$s" 2 "NUL byte: exit status"
grep -qF "$C:1: NUL byte in the line" "$T/err" || fail "NUL byte: $(cat "$T/err")"
set +e; "$OVSCAN" --config "$T/missing.conf" list > /dev/null 2> "$T/err"; s=$?; set -e
expect_eq "$s" 2 "missing --config file"
grep -qF "$T/missing.conf: No such file or directory" "$T/err" || fail "missing config: $(cat "$T/err")"
[ -e /etc/ovscan/ovscan.conf ] ||
  "$OVSCAN" --state "$T/unused.db" list > /dev/null || fail "no default config file: not an error"

# ---- precedence
requires qemu-storage-daemon --version
mkdir -p "$T/src/etc"
echo hello > "$T/src/etc/hostname"
head -c 20000 /dev/urandom > "$T/src/etc/blob"
printf '%s' "$EICAR" > "$T/src/etc/eicar.com"
guest_mkfs "$T/base.qcow2" 32M ext4 "$T/src" || fail "guest_mkfs"

# verdict_of CONFIG-TEXT DISK-NAME FILE [POLL OPTIONS…]: a fresh state with
# one disk, its first poll under CONFIG; prints FILE's verdict.
# (Runs in $(…) subshells: the case number comes from the files made.)
verdict_of () {
  local conf=$1 name=$2 file=$3; shift 3
  n=$(( $(ls "$T" | grep -c '^c[0-9]*\.conf$') + 1 ))
  printf '%s' "$conf" > "$T/c$n.conf"
  cp "$T/base.qcow2" "$T/p$n.qcow2"
  "$OVSCAN" --config "$T/c$n.conf" --state "$T/p$n.db" add "$name" --image "$T/p$n.qcow2" >/dev/null
  "$OVSCAN" --config "$T/c$n.conf" --state "$T/p$n.db" poll "$name" --json "$@" > "$T/p$n.json" \
    2> "$T/p$n.err" || true
  python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
print([f["verdict"] for f in o["files"] if f["path"] == sys.argv[2]][0])' "$T/p$n.json" "$file"
}
SIGS_LINE="database = $OVSCAN_SIGS"
expect_eq "$(verdict_of "$SIGS_LINE"$'\n' vm /etc/blob)" clean "default max-filesize"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nmax-filesize = 10K\n' vm /etc/blob)" skipped \
  "global max-filesize"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nmax-filesize = 10K\n' vm /etc/blob --max-filesize 1M)" clean \
  "command line over global"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nmax-filesize = 10K\n[vm vm]\nmax-filesize = 1M\n' vm /etc/blob)" \
  clean "[vm] over global"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nmax-filesize = 10K\n[vm other]\nmax-filesize = 1M\n' vm /etc/blob)" \
  skipped "another disk's [vm] section"
expect_eq "$(verdict_of "$SIGS_LINE"$'\n[vm vm]\nmax-filesize = 1M\n' vm /etc/blob --max-filesize 10K)" \
  skipped "command line over [vm]"
# Exclusions: global, [vm] (added to the global ones), --exclude replaces them.
expect_eq "$(verdict_of "$SIGS_LINE"$'\nexclude = *.com\n' vm /etc/eicar.com)" skipped \
  "global exclude"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nexclude = /etc/b*\n[vm vm]\nexclude = *.com\n' vm /etc/eicar.com)" \
  skipped "[vm] exclude"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nexclude = /etc/b*\n[vm vm]\nexclude = *.com\n' vm /etc/blob)" \
  skipped "[vm] exclude keeps the global ones"
expect_eq "$(verdict_of "$SIGS_LINE"$'\nexclude = *.com\n' vm /etc/eicar.com --exclude /nothing)" \
  infected "--exclude replaces the config's"
expect_eq "$(verdict_of "$SIGS_LINE"$'\n' vm /etc/eicar.com --exclude '/etc/*')" skipped \
  "poll --exclude"
# Signatures: the config's database is used; -d replaces it.
expect_eq "$(verdict_of "$SIGS_LINE"$'\n' vm /etc/eicar.com)" infected "config database"
expect_eq "$(verdict_of $'test-signatures = yes\n' vm /etc/eicar.com)" infected "config test-signatures"
verdict_of "$SIGS_LINE"$'\n' vm /etc/eicar.com -d "$T/no-such-db" > /dev/null 2>&1 || true
n=$(ls "$T" | grep -c '^c[0-9]*\.conf$')
grep -q "no-such-db" "$T/p$n.err" || fail "-d does not replace the config's database: $(cat "$T/p$n.err")"

# state: the config's, unless --state.
printf 'state = %s\n%s\n' "$T/from-config.db" "$SIGS_LINE" > "$C"
"$OVSCAN" --config "$C" add a --image "$T/p1.qcow2" > /dev/null || fail "add with config state"
expect_eq "$(sqlite3 "$T/from-config.db" 'SELECT name FROM disks')" a "config state used"
"$OVSCAN" --config "$C" --state "$T/from-cli.db" add b --image "$T/p2.qcow2" > /dev/null
expect_eq "$(sqlite3 "$T/from-cli.db" 'SELECT name FROM disks')" b "--state over config"
expect_eq "$(sqlite3 "$T/from-config.db" 'SELECT count(*) FROM disks')" 1 "--state: config db untouched"

# skip, max-time and on-detect from the file.
"$OVSCAN" --config "$C" add c --image "$T/p3.qcow2" > /dev/null
cat > "$T/hook.sh" <<'SH'
#!/bin/sh
echo "$1 $OVSCAN_VM $OVSCAN_PATH" >> "$2"
SH
chmod +x "$T/hook.sh"
cat >> "$C" <<EOF2
on-detect = $T/hook.sh global $T/hooks
[vm c]
skip = yes
on-detect = $T/hook.sh vm-c $T/hooks
EOF2
set +e
"$OVSCAN" --config "$C" poll --all --json > "$T/all.json"; s=$?
set -e
expect_eq "$s" 1 "poll --all with config: exit status"
expect_eq "$(grep -c '"type":"poll"' "$T/all.json")" 1 "skip = yes: only disk a polled"
grep -q '"type":"poll","vm":"a"' "$T/all.json" || fail "disk a not polled"
expect_eq "$(cat "$T/hooks")" "global a /etc/eicar.com" "global on-detect"
set +e; "$OVSCAN" --config "$C" poll c > /dev/null; s=$?; set -e
expect_eq "$s" 1 "a skipped disk named explicitly is polled"
expect_eq "$(tail -n1 "$T/hooks")" "vm-c c /etc/eicar.com" "[vm] on-detect over global"
"$OVSCAN" --config "$C" add d --image "$T/p4.qcow2" > /dev/null
set +e
"$OVSCAN" --config "$C" poll d --on-detect "$T/hook.sh cli $T/hooks" > /dev/null; s=$?
set -e
expect_eq "$(tail -n1 "$T/hooks")" "cli d /etc/eicar.com" "command-line on-detect over config"
# max-time from the file; --max-time overrides it.
"$OVSCAN" --config "$C" add e --image "$T/p5.qcow2" > /dev/null
{ echo "max-time = 1s"; cat "$C"; } > "$C.new" && mv "$C.new" "$C"
set +e
OVSCAN_TEST_POLL_DELAY=1.2 "$OVSCAN" --config "$C" poll --all > /dev/null 2> "$T/mt.err"; s=$?
set -e
expect_eq "$s" 2 "config max-time: exit status (disks left)"
grep -q -- "--max-time 1s spent after 1 of 3 disks" "$T/mt.err" || fail "config max-time: $(cat "$T/mt.err")"
set +e
OVSCAN_TEST_POLL_DELAY=1.2 "$OVSCAN" --config "$C" poll --all --max-time 1h > /dev/null 2> "$T/mt.err"; s=$?
set -e
grep -q "spent" "$T/mt.err" && fail "--max-time 1h did not override the config"
echo PASS
