#!/usr/bin/env bash
# The core promise, with real kernel parts: a protected port is hidden (the
# connect times out: no RST), a valid knock opens it for the knocker only,
# it closes to new connections after open_for while an established
# connection survives, and the same over IPv6.
source "$(dirname "$0")/lib.sh"

alice_server knockd_e2e
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null

start_bg "$S" listener nc -lk 198.18.0.1 2222
start_bg "$S" listener6 nc -6 -lk 2001:db8::1 2222
launch_knockd knockd

expect_closed "$C" 198.18.0.1 2222
pass "hidden before any knock (connect timed out)"

client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_from() { knock_with "$C" "$WORK/knock.toml" "$@"; }
knock_from bastion ssh --wait 2222 --timeout 5s || fail "knock --wait did not open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2" 5
expect_open "$C" 198.18.0.1 2222
pass "open after a valid knock"

# An established connection must outlive the grant; new ones must not.
in_ns "$C" bash -c 'exec 3<>/dev/tcp/198.18.0.1/2222; echo before >&3; sleep 6; echo after-expiry >&3; sleep 0.5' &
CONN_PID=$!; PIDS+=("$CONN_PID")
sleep 5
expect_closed "$C" 198.18.0.1 2222
pass "closed to new connections after open_for"
wait "$CONN_PID" || fail "the established connection broke"
wait_for_log listener "after-expiry" 3
pass "the established connection survived the grant's end"

knock_from bastion6 ssh --wait 2222 --timeout 5s || fail "IPv6 knock did not open"
wait_for_log knockd "granted client alice service ssh from 2001:db8::2" 5
expect_open "$C" 2001:db8::1 2222
expect_closed "$C" 198.18.0.1 2222
pass "IPv6: open for the IPv6 source only"

kill -TERM "$KNOCKD_PID"; wait "$KNOCKD_PID" || true
grep -q "stopping on" "$WORK/knockd.log" || fail "no clean stop"
in_ns "$S" nft list table inet knockd_e2e >/dev/null || fail "table gone after stop"
pass "the table stays after the daemon stops (fail closed)"
in_ns "$S" "$KNOCKD" -c "$WORK/knockd.toml" flush >/dev/null || fail "flush failed"
! in_ns "$S" nft list table inet knockd_e2e >/dev/null 2>&1 || fail "flush left the table"
expect_open "$C" 198.18.0.1 2222
pass "knockd flush removes the table: the port is reachable again"
