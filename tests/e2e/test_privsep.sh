#!/usr/bin/env bash
# Privilege separation, so that a bug in packet code buys nothing. After start, knockd is two processes: the
# firewall helper (root, CAP_NET_ADMIN only) and the packet sniffer (the
# `knockd` account, no capabilities, no_new_privs, seccomp, an empty root
# directory, no descriptor to the key, state or audit files). A flood of
# every malformation from the decoder's fuzz corpus, with every truncation
# and thousands of mutations of each, leaves both running and a valid knock
# still opening. A dead sniffer stops the helper, and the table stays.
source "$(dirname "$0")/lib.sh"
SEND_FRAMES=$(dirname "$SEND_KNOCKS")/send_frames
CORPUS=$(readlink -f "$(dirname "$0")/../fuzz/corpus/fuzz_packet_decoder")
TABLE=knockd_e2e_privsep

alice_server "$TABLE"
sed -i "1i audit_log = \"$WORK/log/audit.jsonl\"" "$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" audit init >"$WORK/audit-key" 2>/dev/null || fail "audit init failed"
client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_from() { knock_with "$C" "$WORK/knock.toml" "$@"; }
start_bg "$S" listener nc -lk 198.18.0.1 2222

# The range filter (a switch for tests), so that the malformed frames, sent
# to any port, reach the decoder this test hardens; the exact-port filter
# would keep nearly all of them in the kernel.
start_knockd() {
  start_bg "$S" "$1" env KNOCKD_TEST_CAPTURE_FILTER=range "$KNOCKD" -c "$WORK/knockd.toml" run
  HELPER_PID=$LAST_PID
  wait_for_log "$1" "started:" 10
  SNIFFER_PID=$(sed -n 's/.*, sniffer pid \([0-9]*\) as knockd$/\1/p' "$WORK/$1.log")
  [ -n "$SNIFFER_PID" ] || fail "no sniffer pid in the started line: $(grep started: "$WORK/$1.log")"
  PIDS+=("$SNIFFER_PID")
}
# status PID FIELD: the values of one line of /proc/PID/status.
status() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
expect_status() {
  local got
  got=$(status "$1" "$2")
  [ "$got" = "$3" ] || fail "$4 $2 is \"$got\", expected \"$3\""
}

start_knockd knockd
[ "$(ps -o ppid= -p "$SNIFFER_PID" | tr -d ' ')" = "$HELPER_PID" ] ||
  fail "the sniffer $SNIFFER_PID is not the helper's ($HELPER_PID) child"

# The helper: root, CAP_NET_ADMIN (bit 12) and nothing else, even bounded.
expect_status "$HELPER_PID" Uid "0 0 0 0" helper
for field in CapEff CapPrm CapBnd; do
  expect_status "$HELPER_PID" "$field" 0000000000001000 helper
done
expect_status "$HELPER_PID" CapAmb 0000000000000000 helper
expect_status "$HELPER_PID" NoNewPrivs 1 helper
pass "helper: uid 0 with CAP_NET_ADMIN only, no_new_privs"

KNOCKD_UID=$(id -u knockd) KNOCKD_GID=$(id -g knockd)
expect_status "$SNIFFER_PID" Uid "$KNOCKD_UID $KNOCKD_UID $KNOCKD_UID $KNOCKD_UID" sniffer
expect_status "$SNIFFER_PID" Gid "$KNOCKD_GID $KNOCKD_GID $KNOCKD_GID $KNOCKD_GID" sniffer
expect_status "$SNIFFER_PID" Groups "" sniffer
for field in CapEff CapPrm CapBnd CapAmb CapInh; do
  expect_status "$SNIFFER_PID" "$field" 0000000000000000 sniffer
done
expect_status "$SNIFFER_PID" NoNewPrivs 1 sniffer
expect_status "$SNIFFER_PID" Seccomp 2 sniffer
pass "sniffer: uid $KNOCKD_UID, no capabilities in any set, no_new_privs, seccomp filter"

ROOT=$(readlink "/proc/$SNIFFER_PID/root")
[ "$ROOT" = "$WORK/state/empty" ] || fail "the sniffer's root is $ROOT"
[ -z "$(ls -A "$ROOT")" ] || fail "the sniffer's root is not empty: $(ls -A "$ROOT")"
for fd in /proc/"$SNIFFER_PID"/fd/*; do
  target=$(readlink "$fd")
  case $target in
    "$WORK"/state/* | "$WORK"/server.key | "$WORK"/knockd.toml | *audit*)
      fail "the sniffer holds $target open (fd $(basename "$fd"))" ;;
  esac
done
[ "$(ls /proc/"$SNIFFER_PID"/fd | wc -l)" -le 7 ] ||
  fail "the sniffer holds $(ls /proc/"$SNIFFER_PID"/fd | wc -l) descriptors: $(ls -l /proc/"$SNIFFER_PID"/fd)"
pass "sniffer: chrooted to an empty directory, no key, state or audit file open"

knock_from bastion ssh --wait 2222 --timeout 5s || fail "a valid knock did not open"
pass "a valid knock opens through the helper"

SERVER_MAC=$(ip -n "$S" link show dev "$(veth_dev "$S")" | awk '/link\/ether/ {print $2}')
SENT=$(in_ns "$C" "$SEND_FRAMES" "$C_DEV" "$SERVER_MAC" "$CORPUS" --mutations 3000 --seed "$RANDOM")
[ "$SENT" -gt 20000 ] || fail "only $SENT malformed frames went out"
sleep 1
kill -0 "$HELPER_PID" && kill -0 "$SNIFFER_PID" ||
  fail "knockd died under $SENT malformed frames"
pass "$SENT malformed frames from the fuzz corpus: helper and sniffer still running"

GRANTS_BEFORE=$(log_count knockd "granted client alice")
knock_from bastion ssh --wait 2222 --timeout 5s || fail "no opening after the flood"
[ "$(log_count knockd "granted client alice")" -gt "$GRANTS_BEFORE" ] || fail "no new grant after the flood"
pass "a valid knock still opens after the flood"

stop_pid "$HELPER_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd stopped with status $STOPPED_RC"
kill -0 "$SNIFFER_PID" 2>/dev/null && fail "the sniffer outlived the helper"
! grep -q "did not stop\|the sniffer .* at stop" "$WORK/knockd.log" ||
  fail "the sniffer did not end cleanly: $(grep "sniffer" "$WORK/knockd.log" | tail -n 1)"
COUNTERS=$(grep -F "counters: " "$WORK/knockd.log" | tail -n 1)
DROPPED=$(echo "$COUNTERS" | awk '{for (i = 1; i < NF; ++i) if ($i ~ /^(truncated|bad_header|not_knock|out_of_range|fragment)$/) n += $(i + 1)} END {print n + 0}')
[ "$DROPPED" -gt 0 ] || fail "the decoder counted no malformed frame: $COUNTERS"
OUT=$("$KNOCKD" audit --verify --key - "$WORK/log/audit.jsonl" <"$WORK/audit-key") ||
  fail "the audit log does not verify: $OUT"
[ "$(grep -c '"grant"' "$WORK/log/audit.jsonl")" -ge 2 ] || fail "the audit log lacks the grants"
pass "clean stop: the sniffer logged $DROPPED malformed frames dropped; the helper's audit log verifies"

# A sniffer that dies (as a seccomp violation would kill it) stops the
# helper with an error; the firewall table stays: fail closed.
start_knockd knockd2
kill -KILL "$SNIFFER_PID"
for _ in $(seq 50); do kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1; done
stop_pid "$HELPER_PID"
[ "$STOPPED_RC" -eq 1 ] || fail "the helper exited with $STOPPED_RC after its sniffer died"
grep -q -F "stopping: the sniffer was killed by SIGKILL; the firewall table stays (fail closed)" "$WORK/knockd2.log" ||
  fail "no stop message: $(tail -n 3 "$WORK/knockd2.log")"
in_ns "$S" nft list table inet "$TABLE" >/dev/null || fail "the table went with the sniffer"
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
pass "a killed sniffer stops the helper (status 1); the table stays and the port stays hidden from a new source"

# conf/knockd.service runs the daemon as User=knockd with ambient
# capabilities; setpriv starts it the same way. The helper then keeps
# CAP_NET_ADMIN as uid knockd, the sniffer still holds nothing.
CAPS=+net_admin,+net_raw,+sys_chroot,+setuid,+setgid,+setpcap
sed -e "s|^state_dir = .*|state_dir = \"$WORK/state-user\"|" -e '/^audit_log/d' \
  "$WORK/knockd.toml" >"$WORK/knockd-user.toml"
mkdir -m 700 "$WORK/state-user"
chown knockd: "$WORK/server.key" "$WORK/state-user"
start_bg "$S" knockd3 setpriv --reuid knockd --regid knockd --clear-groups \
  --inh-caps "$CAPS" --ambient-caps "$CAPS" "$KNOCKD" -c "$WORK/knockd-user.toml" run
HELPER_PID=$LAST_PID
wait_for_log knockd3 "started:" 10
SNIFFER_PID=$(sed -n 's/.*, sniffer pid \([0-9]*\) as knockd$/\1/p' "$WORK/knockd3.log")
PIDS+=("$SNIFFER_PID")
expect_status "$HELPER_PID" Uid "$KNOCKD_UID $KNOCKD_UID $KNOCKD_UID $KNOCKD_UID" "helper (User=knockd)"
for field in CapEff CapPrm CapBnd; do
  expect_status "$HELPER_PID" "$field" 0000000000001000 "helper (User=knockd)"
done
for field in CapEff CapPrm CapBnd CapAmb CapInh; do
  expect_status "$SNIFFER_PID" "$field" 0000000000000000 "sniffer (User=knockd)"
done
expect_status "$SNIFFER_PID" Seccomp 2 "sniffer (User=knockd)"
[ "$(readlink "/proc/$SNIFFER_PID/root")" = "$WORK/state-user/empty" ] || fail "the sniffer (User=knockd) is not chrooted"
knock_from bastion ssh --wait 2222 --timeout 5s || fail "no opening with the helper as User=knockd"
pass "as systemd's User=knockd: helper uid knockd with CAP_NET_ADMIN only, sniffer with nothing; a knock opens"
