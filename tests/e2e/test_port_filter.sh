#!/usr/bin/env bash
# The capture's exact-port filter: knocks sent continuously across several
# window rolls (step 2 s), a reload among them, all open, paced so that
# sequences span rolls. The filter passes only the windows a knock can use
# now (the next one from 1 s before its roll, the expired one for
# seq_timeout, here 1 s, after it): a knock for the window that goes live at
# a roll, sent just after it, opens; one for the oldest live window just
# before a roll opens; one for that window spanning the roll is named
# expired; the same sent after the grace stays in the kernel (not named). A
# flood of SYNs to random ports of the knock range is kept in the kernel
# (the capture's received counter barely moves). The control: the same flood
# with the exact filter off (the range filter, KNOCKD_TEST_CAPTURE_FILTER=range,
# a switch for tests only) is delivered. The flood is bounded in packets and
# seconds.
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
# seq_timeout 1 s: the filter's grace after a roll is half a step.
sed -i 's/^seq_timeout = .*/seq_timeout = "1s"\nstep = "2s"\nslots = 16/' "$WORK/knockd.toml"
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

# --- 1b. Knocks just before, across and after a roll. ---
# at_roll OFFSET_MS: sleeps until OFFSET_MS (negative: before) from the next
# roll of the 2 s windows at least 300 ms away; ROLL_WINDOW is the window
# that roll starts.
at_roll() {
  local now_ms next_ms
  now_ms=$(($(date +%s%N) / 1000000))
  next_ms=$(((now_ms / 2000 + 1) * 2000))
  [ $((next_ms + $1 - now_ms)) -ge 300 ] || next_ms=$((next_ms + 2000))
  ROLL_WINDOW=$((next_ms / 2000))
  sleep "$(awk -v ms=$((next_ms + $1 - now_ms)) 'BEGIN {printf "%.3f", ms / 1000}')"
}
# knock_at WINDOW [ARGS...]: alice knocks for WINDOW of the 2 s windows.
knock_at() {
  local window=$1; shift
  knock_with "$C" "$WORK/alice.toml" bastion ssh --step 2s --slots 16 \
    --at $((window * 2)) "$@" >>"$WORK/knocks.log" 2>&1 || fail "knock for window $window failed"
}
FROM="client alice service ssh from 198.18.0.2 (window"

# Just after a roll, the window it made live (a client a step ahead): the
# filter took it a second before the roll.
at_roll 30
knock_at $((ROLL_WINDOW + 1))
wait_for_log knockd "granted $FROM $((ROLL_WINDOW + 1)) slot" 5
pass "a knock for the window a roll made live, sent just after it, opened"

# Just before a roll, the oldest live window (a client a step behind).
at_roll -400
knock_at $((ROLL_WINDOW - 2))
wait_for_log knockd "granted $FROM $((ROLL_WINDOW - 2)) slot" 5
pass "a knock for the oldest live window, sent just before a roll, opened"

# The same window, its sequence spanning the roll that expires it: within
# the grace the filter still passes it, and it is named.
at_roll -250
knock_at $((ROLL_WINDOW - 2)) --gap 60ms
wait_for_log knockd "refused expired window: $FROM $((ROLL_WINDOW - 2)) slot" 5
pass "a sequence spanning the roll that expired its window was named expired"

# After the grace (1 s) and before the next roll, the expired window's
# ports no longer pass: the same kind of knock is not seen at all.
at_roll 1500
knock_at $((ROLL_WINDOW - 2))
sleep 1
[ "$(log_count knockd "refused expired window: $FROM $((ROLL_WINDOW - 2)) slot")" -eq 0 ] ||
  fail "a knock for a window expired past the grace reached the matcher"
pass "a knock for a window expired past the grace stayed in the kernel"

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
