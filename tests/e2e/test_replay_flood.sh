#!/usr/bin/env bash
# A replay flood with the audit log on: one sniffed sequence resent from
# thousands of spoofed sources (198.19.0.0/16) as fast as this machine sends,
# for a few seconds. The capture loop never waits on the helper: the kernel
# drops no captured frame, the legitimate client's `knock --wait` during the
# flood gets in, and the audit log holds the refusals summed (one record per
# sequence and second), sealed and verifying.
source "$(dirname "$0")/lib.sh"
KNOCK_FLOOD=$(dirname "$SEND_KNOCKS")/knock_flood
[ -x "$KNOCK_FLOOD" ] || fail "no knock_flood next to $SEND_KNOCKS"
FLOOD_SECONDS=4
FLOOD_MAX_PACKETS=4000000

alice_server knockd_e2e_flood
sed -i "1i audit_log = \"$WORK/log/audit.jsonl\"" "$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null
"$KNOCKD" -c "$WORK/knockd.toml" audit init >"$WORK/audit-key" 2>/dev/null ||
  fail "knockd audit init failed"
client_config "$WORK/knock.toml" alice "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd

# alice knocked once from 198.18.0.3 (her last slot of this window); the
# attacker sniffed it. From 198.18.0.2 the port is still closed.
ports=$(knock_with "$C" "$WORK/knock.toml" bastion ssh --slot 3 --dry-run)
read -r -a P <<<"$ports"
[ "${#P[@]}" -eq 8 ] || fail "--dry-run printed \"$ports\""
PORTS=$(IFS=,; echo "${P[*]}")
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not knock"
wait_for_log knockd "granted client alice service ssh from 198.18.0.3 " 5
expect_closed_from "$C" 198.18.0.2 198.18.0.1 2222

S_DEV=$(veth_dev "$S")
S_MAC=$(ip -n "$S" -o link show "$S_DEV" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
start_bg "$C" flood "$KNOCK_FLOOD" --dev "$C_DEV" --dst-mac "$S_MAC" \
  --dest 198.18.0.1 --seconds "$FLOOD_SECONDS" \
  --max-packets "$FLOOD_MAX_PACKETS" --replay "$PORTS"
FLOOD_PID=$LAST_PID
sleep 1
# During the flood alice knocks again (her next slot) and must get in.
knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "alice's knock during the flood did not open"
kill -0 "$FLOOD_PID" 2>/dev/null || fail "the flood ended before alice's knock"
[ "$(log_count knockd "granted client alice service ssh from 198.18.0.2 ")" -eq 1 ] ||
  fail "alice's knock during the flood was not granted"
pass "alice's knock during the flood opens"

for _ in $(seq $((FLOOD_SECONDS * 10 + 50))); do
  kill -0 "$FLOOD_PID" 2>/dev/null || break
  sleep 0.1
done
stop_pid "$FLOOD_PID"
FLOOD=$(cat "$WORK/flood.log")
SENT=$(awk '{print $2}' <<<"$FLOOD")
echo "flood: $FLOOD"
[ "${SENT:-0}" -gt 100000 ] || fail "the flood sent too little: $FLOOD"
sleep 2  # the last second's summary goes out once its second is over
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"

CAPTURE=$(grep -o "capture: received [0-9]* dropped_by_kernel [0-9]*" "$WORK/knockd.log" | tail -n 1)
QUEUE=$(grep -o "helper queue: .*" "$WORK/knockd.log" | tail -n 1)
COUNTERS=$(grep -o "counters: .*" "$WORK/knockd.log" | tail -n 1)
echo "$CAPTURE"
echo "$QUEUE"
echo "$COUNTERS"
read -r RECEIVED DROPPED <<<"$(awk '{print $3, $5}' <<<"$CAPTURE")"
[ "${RECEIVED:-0}" -gt 100000 ] || fail "knockd captured too little: $CAPTURE"
[ "$DROPPED" -eq 0 ] || fail "the kernel dropped $DROPPED of $RECEIVED captured frames"
REPLAYS=$(sed -n 's/.* replays \([0-9]*\) .*/\1/p' <<<"$COUNTERS")
[ "${REPLAYS:-0}" -gt 10000 ] || fail "too few replays matched: $COUNTERS"
pass "$RECEIVED frames captured at $(awk '{print $NF}' <<<"$FLOOD") packets/s, none dropped by the kernel; $REPLAYS replays refused"

LOG=$WORK/log/audit.jsonl
SUMMED=$(grep -c '"event":"refusals"' "$LOG")
AUDITED=$(grep -o '"count":[0-9]*' "$LOG" | awk -F: '{n += $2} END {print n + 0}')
[ "$SUMMED" -ge 1 ] && [ "$SUMMED" -le $((FLOOD_SECONDS * 2 + 4)) ] ||
  fail "expected a refusals record per second, found $SUMMED"
[ "$AUDITED" -eq "$REPLAYS" ] ||
  fail "the audit log sums $AUDITED refusals, the sniffer counted $REPLAYS"
OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/audit-key") ||
  fail "verify failed: $OUT"
pass "$REPLAYS refusals audited in $SUMMED summed records; the log verifies"
