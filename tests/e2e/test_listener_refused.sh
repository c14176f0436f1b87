#!/usr/bin/env bash
# The daemon will not start where its drop rules would silently cut off a
# running service: a listener inside the knock range makes `knockd run`
# exit 1 naming the port and the process, and sets up no table. A broken
# configuration exits 1 with FILE:LINE:COL; `knockd check` passes a good one.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_listener
alice_server "$TABLE"
"$KNOCKD" -c "$WORK/knockd.toml" check >"$WORK/check.log" 2>&1 ||
  fail "knockd check refused a good configuration: $(cat "$WORK/check.log")"
pass "knockd check exits 0 on a good configuration"

# run_knockd LOGNAME CONFIG: knockd run in $S, at most 10 s; its exit
# status is in RUN_RC.
run_knockd() {
  RUN_RC=0
  timeout 10 ip netns exec "$S" "$KNOCKD" -c "$2" run >"$WORK/$1.log" 2>&1 ||
    RUN_RC=$?
}

start_bg "$S" listener nc -l 198.18.0.1 20000
LISTENER_PID=$LAST_PID
for _ in $(seq 50); do
  in_ns "$S" ss -Hltn 'sport = :20000' | matches LISTEN && break
  sleep 0.1
done
run_knockd refused "$WORK/knockd.toml"
[ "$RUN_RC" -eq 1 ] || fail "knockd run exited $RUN_RC over a listener, not 1"
EXPECTED="knockd: knock range 16384-32767 holds a listening socket: tcp/20000 (pid $LISTENER_PID nc); move the service or the knock range"
grep -q -x -F "$EXPECTED" "$WORK/refused.log" ||
  fail "expected \"$EXPECTED\", got: $(cat "$WORK/refused.log")"
[ -z "$(in_ns "$S" nft list tables)" ] || fail "a refused start left a table"
pass "a TCP listener on 20000 stops the start, naming tcp/20000 and nc"

# The range is silent for UDP too, so a bound UDP socket there is refused
# even though the knocks are TCP; both sockets are named at once.
cp "$WORK/knockd.toml" "$WORK/udp.toml"
start_bg "$S" udp-listener nc -u -l 198.18.0.1 20001
UDP_PID=$LAST_PID
for _ in $(seq 50); do
  in_ns "$S" ss -Hlun 'sport = :20001' | matches 20001 && break
  sleep 0.1
done
run_knockd refused-udp "$WORK/udp.toml"
[ "$RUN_RC" -eq 1 ] || fail "knockd run exited $RUN_RC over a UDP socket, not 1"
EXPECTED="knockd: knock range 16384-32767 holds listening sockets: tcp/20000 (pid $LISTENER_PID nc), udp/20001 (pid $UDP_PID nc); move the services or the knock range"
grep -q -x -F "$EXPECTED" "$WORK/refused-udp.log" ||
  fail "expected \"$EXPECTED\", got: $(cat "$WORK/refused-udp.log")"
pass "a UDP socket on 20001 stops the start too, with the TCP one"

stop_pid "$LISTENER_PID"
stop_pid "$UDP_PID"

# A value that is no duration, on a known line: the error points at it.
LINE=$(grep -n '^seq_timeout' "$WORK/knockd.toml" | cut -d: -f1)
sed 's/^seq_timeout = .*/seq_timeout = "5 parsecs"/' "$WORK/knockd.toml" >"$WORK/bad.toml"
if "$KNOCKD" -c "$WORK/bad.toml" check >"$WORK/bad-check.log" 2>&1; then
  fail "knockd check accepted a bad configuration"
else
  [ $? -eq 1 ] || fail "knockd check did not exit 1 on a bad configuration"
fi
grep -q "^$WORK/bad.toml:$LINE:[0-9]*: .*5 parsecs" "$WORK/bad-check.log" ||
  fail "check: no $WORK/bad.toml:$LINE:COL error: $(cat "$WORK/bad-check.log")"
run_knockd bad-run "$WORK/bad.toml"
[ "$RUN_RC" -eq 1 ] || fail "knockd run exited $RUN_RC on a bad configuration"
grep -q "$WORK/bad.toml:$LINE:[0-9]*: .*5 parsecs" "$WORK/bad-run.log" ||
  fail "run: no $WORK/bad.toml:$LINE:COL error: $(cat "$WORK/bad-run.log")"
[ -z "$(in_ns "$S" nft list tables)" ] || fail "a bad configuration left a table"
pass "a bad configuration: exit 1 with $(grep -o "bad.toml:$LINE:[0-9]*" "$WORK/bad-run.log")"

# And the same namespace, cleared, lets the daemon start.
launch_knockd knockd
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
pass "with the listeners gone the daemon starts"
