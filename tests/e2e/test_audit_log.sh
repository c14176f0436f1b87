#!/usr/bin/env bash
# The sealed audit log of a real run: a grant, a replay refused, the grant's
# expiry, a reload and a stop are logged; the log verifies under the key
# `knockd audit init` printed and not under another; the summary counts
# them; a crash's incomplete line is reported, then sealed over on restart.
source "$(dirname "$0")/lib.sh"

alice_server knockd_e2e_audit
sed -i "1i audit_log = \"$WORK/log/audit.jsonl\"" "$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null
"$KNOCKD" -c "$WORK/knockd.toml" audit init >"$WORK/audit-key" 2>/dev/null ||
  fail "knockd audit init failed"
[ "$(wc -c <"$WORK/audit-key")" -eq 45 ] || fail "audit init printed no key"
! "$KNOCKD" -c "$WORK/knockd.toml" audit init >/dev/null 2>&1 ||
  fail "a second audit init overwrote the sealing state"
pass "audit init prints the verification key once"

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd

client_config "$WORK/knock.toml" alice "$SERVER_PUB"
alice_knocks "$WORK/knock.toml"
PORTS=$(grant_ports knockd alice 198.18.0.2)
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd "refused replay" 5
sleep 6  # open_for is 4s: the grant expires
kill -HUP "$KNOCKD_PID"
wait_for_log knockd "reloaded" 5
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"

LOG=$WORK/log/audit.jsonl
for event in file start grant refusals expiry reload stop; do
  [ "$(grep -c "\"event\":\"$event\"" "$LOG")" -eq 1 ] ||
    fail "not exactly one \"$event\" record: $(cat "$LOG")"
done
[ "$(wc -l <"$LOG")" -eq 7 ] || fail "expected 7 records: $(cat "$LOG")"
! grep -q "$SERVER_PUB\|$ALICE_PUB\|$(cat "$WORK/audit-key")" "$LOG" ||
  fail "a key appears in the audit log"
pass "one record each: file start grant refusals expiry reload stop; no key"

OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/audit-key") ||
  fail "verify failed: $OUT"
[[ "$OUT" == "OK, 7 records, sealed through "* ]] || fail "verify said: $OUT"
(umask 077; "$KNOCKD" genkey >"$WORK/other-key")
OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/other-key") &&
  fail "verify passed with another key"
[[ "$OUT" == "$LOG:1: record 0: wrong key: "* ]] || fail "wrong key said: $OUT"
pass "the log verifies under its key and not under another"

SUMMARY=$("$KNOCKD" -c "$WORK/knockd.toml" audit)
grep -qx "  alice: 1 grant" <<<"$SUMMARY" || fail "summary: $SUMMARY"
grep -qx "  198.18.0.2: 1 grant" <<<"$SUMMARY" || fail "summary: $SUMMARY"
grep -qx "  198.18.0.3: 1 replay" <<<"$SUMMARY" || fail "summary: $SUMMARY"
grep -A1 -x "holes open now:" <<<"$SUMMARY" | matches -x "  none" ||
  fail "summary: $SUMMARY"
[ "$("$KNOCKD" audit --source 198.18.0.3 --json "$LOG" | wc -l)" -eq 1 ] ||
  fail "--source 198.18.0.3 did not give one event"
pass "the summary counts one grant for alice and one replay from 198.18.0.3"

# kill -9 in the middle of a write leaves half a line.
printf '{"seq":7,"time":"2026-' >>"$LOG"
OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/audit-key") &&
  fail "verify passed a cut line"
[[ "$OUT" == "$LOG:8: record 7: truncated: the last line is incomplete (22 bytes, no newline)" ]] ||
  fail "truncation said: $OUT"
launch_knockd knockd2
grep -q "an incomplete last line of 22 bytes" "$WORK/knockd2.log" ||
  fail "the restart did not report the incomplete line"
stop_pid "$KNOCKD_PID"
OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/audit-key") ||
  fail "verify after recovery: $OUT"
[[ "$OUT" == "OK, 10 records, sealed through "*"
note: $LOG:8: an incomplete line of 22 bytes left by a crash, sealed by record 7" ]] ||
  fail "after recovery verify said: $OUT"
pass "a crash's incomplete line is reported, then sealed over on restart"

# `knockd flush` is in the trail too, in the same chain.
in_ns "$S" "$KNOCKD" -c "$WORK/knockd.toml" flush >/dev/null || fail "flush failed"
[ "$("$KNOCKD" audit --event flush --json "$LOG" | wc -l)" -eq 1 ] ||
  fail "no flush record after knockd flush"
OUT=$("$KNOCKD" audit --verify --key - "$LOG" <"$WORK/audit-key") ||
  fail "verify after flush: $OUT"
[[ "$OUT" == "OK, 11 records, sealed through "* ]] || fail "after flush: $OUT"
pass "knockd flush appends a sealed flush record"
