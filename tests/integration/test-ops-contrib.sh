#!/bin/bash
# contrib/ as shipped: `cmake --install` puts the man page, the systemd
# units (lib/systemd/system) and the contrib files (share/ovscan/contrib)
# under the prefix; systemd-analyze accepts the units; the example config
# parses, also with every setting uncommented; and in a private mount
# namespace where the install is /usr/local, the default state
# /var/lib/ovscan is empty and /etc/ovscan/ovscan.conf names the test
# signatures, the cron line's command and the service's
# ExecStart, run as cron and systemd would (their PATH, no terminal), poll
# a registered disk: the first reports its EICAR (exit 1, the detection
# only), the second is quiet (exit 0, no output).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/ops.sh"
requires_root
requires unshare --version
requires qemu-img --version
: "${OVSCAN_BUILD_DIR:?OVSCAN_BUILD_DIR must name the build directory}"

R="$T/root"
DESTDIR="$R" cmake --install "$OVSCAN_BUILD_DIR" --prefix /usr/local > "$T/install.log" ||
  fail "cmake --install: $(cat "$T/install.log")"
for f in bin/ovscan share/man/man1/ovscan.1 lib/systemd/system/ovscan.service \
         lib/systemd/system/ovscan.timer share/ovscan/contrib/ovscan.cron \
         share/ovscan/contrib/ovscan.conf; do
  [ -f "$R/usr/local/$f" ] || fail "not installed: $f"
done
CONTRIB="$R/usr/local/share/ovscan/contrib"

# The example configuration, as shipped and with every line uncommented.
"$OVSCAN" --config "$CONTRIB/ovscan.conf" --state "$T/x.db" list > /dev/null ||
  fail "shipped example config"
sed -E 's/^# ([a-z-]+ = |\[vm )/\1/' "$CONTRIB/ovscan.conf" > "$T/all.conf"
grep -q '^\[vm build01\]' "$T/all.conf" || fail "uncommenting the example failed"
"$OVSCAN" --config "$T/all.conf" --state "$T/x.db" list > /dev/null ||
  fail "example config with every setting"

# A disk with a planted EICAR.
mkdir -p "$T/src"
printf '%s' "$EICAR" > "$T/src/eicar.com"
echo hello > "$T/src/hello.txt"
truncate -s 32M "$T/vm.raw"
mkfs.ext4 -q -d "$T/src" "$T/vm.raw"
qemu-img convert -O qcow2 "$T/vm.raw" "$T/vm.qcow2"

created=""
for d in /var/lib/ovscan /etc/ovscan; do
  [ -d "$d" ] || { mkdir -p "$d"; created="$created $d"; }
done
[ -z "$created" ] || cleanup_fn "rmdir $created"

cron_cmd=$(awk '!/^#/ && NF >= 7 && $1 ~ /^[0-9*]/ { for (i = 7; i <= NF; i++) printf "%s ", $i }' \
           "$CONTRIB/ovscan.cron")
cron_user=$(awk '!/^#/ && NF >= 7 && $1 ~ /^[0-9*]/ { print $6 }' "$CONTRIB/ovscan.cron")
cron_path=$(sed -n 's/^PATH=//p' "$CONTRIB/ovscan.cron")
unit_cmd=$(sed -n 's/^ExecStart=//p' "$R/usr/local/lib/systemd/system/ovscan.service")
expect_eq "$cron_user" root "cron line: user field"
[ -n "$cron_cmd" ] && [ -n "$unit_cmd" ] || fail "no command in the cron line or the unit"

cat > "$T/inside.sh" <<'SH'
set -u
T=$1 R=$2 cron_path=$3 cron_cmd=$4 unit_cmd=$5 OVSCAN_SIGS=$6
mount --make-rprivate / &&
mount --bind "$R/usr/local" /usr/local &&
mount -t tmpfs none /var/lib/ovscan &&
mount -t tmpfs none /etc/ovscan || exit 10
# The default configuration file: the project's test signatures (this host
# has no ClamAV databases to rely on).
echo "database = $OVSCAN_SIGS" > /etc/ovscan/ovscan.conf
systemd-analyze verify /usr/local/lib/systemd/system/ovscan.service \
  /usr/local/lib/systemd/system/ovscan.timer > "$T/verify.out" 2>&1 || exit 11
/usr/local/bin/ovscan add vm --image "$T/vm.qcow2" > /dev/null || exit 12
# cron: its PATH, no terminal; systemd: its search path, no terminal.
env -i PATH="$cron_path" HOME=/root sh -c "$cron_cmd" > "$T/cron.out" 2> "$T/cron.err" < /dev/null
echo $? > "$T/cron.status"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  sh -c "exec $unit_cmd" > "$T/unit.out" 2> "$T/unit.err" < /dev/null
echo $? > "$T/unit.status"
exit 0
SH
unshare -m bash "$T/inside.sh" "$T" "$R" "$cron_path" "$cron_cmd" "$unit_cmd" "$OVSCAN_SIGS" ||
  fail "private namespace run failed ($?): $(cat "$T/verify.out" 2>/dev/null)"
[ ! -s "$T/verify.out" ] || fail "systemd-analyze verify: $(cat "$T/verify.out")"
expect_eq "$(cat "$T/cron.status")" 1 "cron command: exit status (EICAR)"
expect_eq "$(cat "$T/cron.out")" "vm: /eicar.com: Ovscan.Test.EICAR.UNOFFICIAL FOUND" \
  "cron command: only the detection on stdout"
[ ! -s "$T/cron.err" ] || fail "cron command: stderr not empty: $(cat "$T/cron.err")"
expect_eq "$(cat "$T/unit.status")" 0 "service command: exit status (quiet poll)"
[ ! -s "$T/unit.out" ] && [ ! -s "$T/unit.err" ] || fail "service command: output on a quiet poll"
echo PASS
