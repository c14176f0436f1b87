#!/usr/bin/env bash
# The daemon dies hard with a grant live: the kernel still closes the hole
# when the element's timeout runs out. A restart on the same state directory
# remembers the used sequence (a replay is refused), rebuilds its table
# without duplicating a rule, and a fresh knock opens again.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_restart
alice_server "$TABLE"
client_config "$WORK/knock.toml" alice "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd
RULES_BEFORE=$(rule_count "$S" "$TABLE")
[ "$RULES_BEFORE" -gt 0 ] || fail "no rules in table $TABLE"

knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "alice's knock did not open"
GRANTED_AT=$(date +%s.%N)
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
PORTS=$(grant_ports knockd alice 198.18.0.2)
read -r WINDOW SLOT <<<"$(grant_window_slot knockd alice 198.18.0.2)"

stop_pid "$KNOCKD_PID" KILL
[ "$STOPPED_RC" -eq 137 ] || fail "knockd did not die of SIGKILL ($STOPPED_RC)"
# Look at the set first: the element lives only open_for (4 s).
grep -q "198.18.0.2 . tcp . 2222 timeout" <<<"$(in_ns "$S" nft list set inet "$TABLE" allowed4)" ||
  fail "no timed element for 198.18.0.2 in allowed4"
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
pass "the hole stays open after kill -9"

# open_for is 4 s: wait until the element must be gone, then look.
sleep "$(awk -v t="$GRANTED_AT" -v now="$(date +%s.%N)" \
  'BEGIN { s = t + 4.5 - now; print (s > 0 ? s : 0) }')"
expect_closed_from "$C" 198.18.0.2 198.18.0.1 2222
! grep -q "198.18.0.2" <<<"$(in_ns "$S" nft list set inet "$TABLE" allowed4)" ||
  fail "the element outlived its timeout"
pass "the kernel closed the hole at the grant's timeout, daemon dead"

launch_knockd knockd2
RULES_AFTER=$(rule_count "$S" "$TABLE")
[ "$RULES_AFTER" -eq "$RULES_BEFORE" ] ||
  fail "restart changed the rule count: $RULES_BEFORE before, $RULES_AFTER after"
[ "$(in_ns "$S" nft list tables | grep -c "inet $TABLE\$")" -eq 1 ] ||
  fail "the table exists more than once"
pass "restart rebuilt the table without duplicates ($RULES_AFTER rules)"

in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd2 "refused replay: client alice service ssh from 198.18.0.3 (window $WINDOW slot $SLOT), first used by 198.18.0.2" 5
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
pass "the used sequence survived the restart: replay from 198.18.0.3 refused"

# Its grant is over, so even alice's own address may not use it again.
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.2 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not resend"
wait_for_log knockd2 "refused replay: client alice service ssh from 198.18.0.2 (window $WINDOW slot $SLOT)" 5
pass "the same sequence from its first source after the grant ended is refused"

knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "a fresh knock did not open after the restart"
wait_for_log knockd2 "granted client alice service ssh from 198.18.0.2 " 5
read -r _ SLOT2 <<<"$(grant_window_slot knockd2 alice 198.18.0.2)"
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
pass "a fresh knock (slot $SLOT2) opens after the restart"
[ "$(rule_count "$S" "$TABLE")" -eq "$RULES_BEFORE" ] ||
  fail "a grant changed the rule count"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
