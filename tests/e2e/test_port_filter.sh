#!/usr/bin/env bash
# The capture's exact-port filter: knocks sent continuously across several
# window rolls (step 2 s), a reload among them, all open, paced so that
# sequences span rolls; a flood of SYNs to random ports of the knock range
# is kept in the kernel (the capture's received counter barely moves). The
# control: the same flood with the exact filter off (the range filter,
# KNOCKD_TEST_CAPTURE_FILTER=range, a switch for tests only) is delivered.
# The flood is bounded in packets and seconds.
source "$(dirname "$0")/lib.sh"

FLOOD=$(dirname "$SEND_KNOCKS")/flood_knocks
[ -x "$FLOOD" ] || fail "no flood_knocks next to send_knocks ($FLOOD)"
TABLE=knockd_e2e_pfilter
KNOCKS=12
FLOOD_SOURCES=2000
FLOOD_PORTS=16
FLOOD_PACKETS=$((FLOOD_SOURCES * FLOOD_PORTS))

two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
S_DEV=$(veth_dev "$S")
SERVER_MAC=$(ip -n "$S" link show dev "$S_DEV" | awk '/link\/ether/ {print $2}')
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
server_config "$WORK/knockd.toml" "$TABLE"
# The veth device itself: the Ethernet view of the filter (lib's "any" is
# the cooked one, which the other e2e tests run through).
sed -i "s/^interfaces = .*/interfaces = [\"$S_DEV\"]/" "$WORK/knockd.toml"
sed -i 's/^seq_timeout = .*/&\nstep = "2s"\nslots = 16/' "$WORK/knockd.toml"
start_bg "$S" listener nc -lk 198.18.0.1 2222

# start_knockd [ENV...]: knockd in $S, its pid in KNOCKD_PID.
start_knockd() {
  "$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null
  start_bg "$S" knockd env "$@" "$KNOCKD" -c "$WORK/knockd.toml" run
  KNOCKD_PID=$LAST_PID
  wait_for_log knockd "started" 10
}

# stop_knockd_received NAME: stops knockd; the capture's received count in
# RECEIVED; its log kept as knockd-NAME.log.
stop_knockd_received() {
  stop_pid "$KNOCKD_PID"
  [ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
  RECEIVED=$(grep -o "capture: received [0-9]*" "$WORK/knockd.log" | tail -n 1 | cut -d' ' -f3)
  [ -n "$RECEIVED" ] || fail "no capture counters in knockd's log"
  mv "$WORK/knockd.log" "$WORK/knockd-$1.log"
}

flood() {
  local n
  read -r n _ <<<"$(in_ns "$C" timeout 70 "$FLOOD" "$C_DEV" "$SERVER_MAC" 198.18.0.1 \
    --sources "$FLOOD_SOURCES" --random-ports "$FLOOD_PORTS" \
    --range 16384-32767 --seed 7 --seconds 30)"
  [ "$n" -eq "$FLOOD_SOURCES" ] || fail "the flood sent $n sources"
  sleep 0.5
}

# --- 1. Knocks across rolls and a reload. ---
start_knockd
LIVE=$(sed -n 's/.*capture filter: \([0-9]*\) ports of the knock range.*/\1/p' \
  "$WORK/knockd.log" | head -n 1)
[ -n "$LIVE" ] || fail "knockd did not say what its capture filter passes"
[ "$LIVE" -lt 1000 ] || fail "the filter passes $LIVE ports for one client"
# Exact: every port it passes is a held window's.
matches -F "capture filter: $LIVE ports of the knock range (exact; " <"$WORK/knockd.log" ||
  fail "the capture filter is not exact: $(grep 'capture filter' "$WORK/knockd.log" | head -n 1)"
pass "the capture filter passes exactly $LIVE ports of 16,384"

# 8 knocks 60 ms apart (0.42 s a sequence), one sequence every 0.5 s: a
# sequence spans a roll of the 2 s windows about one time in five.
for i in $(seq "$KNOCKS"); do
  [ "$i" -ne 7 ] || kill -HUP "$KNOCKD_PID"
  knock_with "$C" "$WORK/alice.toml" bastion ssh --step 2s --slots 16 \
    --gap 60ms >>"$WORK/knocks.log" 2>&1 || fail "knock $i failed"
  sleep 0.08
done
wait_for_log knockd "reloaded" 5
for _ in $(seq 40); do
  OPENED=$(grep -c -E "(granted|refreshed) client alice service ssh from 198.18.0.2 " \
    "$WORK/knockd.log" || true)
  [ "$OPENED" -lt "$KNOCKS" ] || break
  sleep 0.1
done
[ "$OPENED" -eq "$KNOCKS" ] || fail "$OPENED of $KNOCKS knocks opened"
WINDOWS=$(grep -o -E "(granted|refreshed) client alice service ssh from 198.18.0.2 \(window [0-9]*" \
  "$WORK/knockd.log" | awk '{print $NF}' | sort -u | wc -l)
[ "$WINDOWS" -ge 3 ] || fail "the knocks used $WINDOWS windows, not 3 or more: no rolls"
pass "$KNOCKS of $KNOCKS knocks opened across $WINDOWS windows and a reload"

# --- 2. A flood to random ports of the range stays in the kernel. ---
stop_knockd_received exact-before
BEFORE=$RECEIVED
start_knockd
flood
stop_knockd_received exact
[ "$RECEIVED" -lt $((FLOOD_PACKETS / 10)) ] ||
  fail "the exact filter let $RECEIVED of $FLOOD_PACKETS flood packets through"
pass "exact filter: $RECEIVED of $FLOOD_PACKETS flood packets reached the sniffer (knocks alone: $BEFORE)"

# --- Control: the range filter delivers the same flood. ---
start_knockd KNOCKD_TEST_CAPTURE_FILTER=range
grep -q "capture filter: the whole knock range" "$WORK/knockd.log" ||
  fail "the control did not turn the exact filter off"
flood
stop_knockd_received range
[ "$RECEIVED" -ge $((FLOOD_PACKETS * 9 / 10)) ] ||
  fail "control: only $RECEIVED of $FLOOD_PACKETS flood packets were delivered"
pass "control: with the range filter $RECEIVED of $FLOOD_PACKETS were delivered"
