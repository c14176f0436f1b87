#!/usr/bin/env bash
# Fleet operations end to end: a client added as a clients.d drop-in by
# `knockd client add` reaches the running daemon by SIGHUP (through its pid
# file), whose answer add reports, and opens; a reload the daemon refuses
# (a key that needs a restart) fails `client remove` and `knockd reload`
# with the daemon's reason; the metrics file counts the grant and the
# replay, and node_exporter's textfile collector serves them over HTTP
# inside the test's namespaces.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_fleet
two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
BOB_PUB=$(client_keys bob)
mkdir -p "$WORK/textfile"
server_config "$WORK/knockd.toml" "$TABLE"
sed -i "1i metrics_file = \"$WORK/textfile/knockd.prom\"" "$WORK/knockd.toml"
client_config "$WORK/bob.toml" bob "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
# With the unit's umask, so that the metrics file's mode is knockd's doing.
start_bg "$S" knockd bash -c 'umask 077 && exec "$@"' knockd \
  "$KNOCKD" -c "$WORK/knockd.toml" run
KNOCKD_PID=$LAST_PID
wait_for_log knockd "started: 1 clients" 10
[ "$(cat "$WORK/state/knockd.pid")" = "$KNOCKD_PID
config $WORK/knockd.toml" ] ||
  fail "knockd.pid holds $(cat "$WORK/state/knockd.pid"), not $KNOCKD_PID and its configuration"
# A copy of the configuration (same state_dir) does not reload the daemon
# that runs the original: it would reload its own file and say "reloaded".
cp "$WORK/knockd.toml" "$WORK/copy.toml"
if OUT=$("$KNOCKD" -c "$WORK/copy.toml" reload 2>&1); then
  fail "a reload through a copy of the configuration succeeded: $OUT"
fi
[ "$OUT" = "knockd: knockd pid $KNOCKD_PID (from $WORK/state/knockd.pid) runs $WORK/knockd.toml, not $WORK/copy.toml: nothing was signalled; reload it with -c $WORK/knockd.toml" ] ||
  fail "reload through a copy said: $OUT"

# A bad key and a taken name are refused before anything is written.
if OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add alice --key "$BOB_PUB" 2>&1); then
  fail "client add accepted a taken name"
fi
[ "$OUT" = "knockd: client \"alice\" exists already, in $WORK/knockd.toml" ] ||
  fail "taken name: $OUT"
[ ! -e "$WORK/clients.d/alice.toml" ] || fail "a refused add wrote a file"

OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add bob --key "$BOB_PUB" --services ssh)
[ "$OUT" = "wrote $WORK/clients.d/bob.toml
knockd pid $KNOCKD_PID: reloaded $WORK/knockd.toml: 2 clients" ] ||
  fail "client add said: $OUT"
[ "$(stat -c %a "$WORK/clients.d/bob.toml")" = 640 ] || fail "drop-in mode"
wait_for_log knockd "reloaded $WORK/knockd.toml: 2 clients" 5
"$KNOCKD" -c "$WORK/knockd.toml" client list | matches -E "^bob +ssh +$WORK/clients.d/bob.toml$" ||
  fail "client list: $("$KNOCKD" -c "$WORK/knockd.toml" client list)"
knock_with "$C" "$WORK/bob.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "bob's knock did not open after client add"
wait_for_log knockd "granted client bob service ssh from 198.18.0.2 " 5
pass "client add wrote clients.d/bob.toml, reloaded knockd by its pid file, bob opens"

# Someone sniffed bob's knock and resends it from next door.
PORTS=$(grant_ports knockd bob 198.18.0.2)
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd "refused replay: client bob service ssh from 198.18.0.3 " 5

# wait_metric REGEX: the helper rewrites the file every 5 s; the sniffer's
# counters reach it every 5 s as well, so within 12 s.
wait_metric() {
  local deadline=$((SECONDS + 12))
  until grep -qxE "$1" "$WORK/textfile/knockd.prom" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] ||
      fail "no \"$1\" in the metrics: $(grep -v '^#' "$WORK/textfile/knockd.prom" 2>&1)"
    sleep 0.2
  done
}
wait_metric "knockd_grants_total 1"
wait_metric "knockd_replays_total 1"
wait_metric "knockd_reloads_total 1"
wait_metric "knockd_capture_received_total [1-9][0-9]*"
wait_metric "knockd_knocks_total 16"  # bob's 8 and the 8 replayed
pass "the metrics file counts the grant, the replay, the reload and the capture"

# node_exporter's textfile collector, as an account of its own (Debian runs
# it as prometheus), serves them; curl reads them from the client's
# namespace.
start_bg "$S" node_exporter setpriv --reuid=nobody --regid=nogroup --clear-groups \
  prometheus-node-exporter \
  --web.listen-address=198.18.0.1:9100 --collector.disable-defaults \
  --collector.textfile --collector.textfile.directory="$WORK/textfile"
wait_for_log node_exporter "Listening on" 10
METRICS=$(timeout 10 ip netns exec "$C" curl -sS http://198.18.0.1:9100/metrics)
grep -qx "knockd_grants_total 1" <<<"$METRICS" ||
  fail "node_exporter does not serve knockd_grants_total 1"
grep -qx "knockd_replays_total 1" <<<"$METRICS" ||
  fail "node_exporter does not serve knockd_replays_total 1"
grep -qx "knockd_reloads_total 1" <<<"$METRICS" ||
  fail "node_exporter does not serve knockd_reloads_total 1"
grep -qx "# TYPE knockd_open_holes gauge" <<<"$METRICS" ||
  fail "node_exporter does not serve the open holes gauge"
grep -q 'node_textfile_scrape_error 0' <<<"$METRICS" ||
  fail "node_exporter could not read the file: $(grep textfile <<<"$METRICS")"
pass "prometheus-node-exporter, as nobody, serves knockd's metrics over HTTP"

# A change that needs a restart waits in knockd.toml: the reload that
# client remove asks for is refused, and remove says so and exits 1.
REFUSAL="reload refused, keeping the running configuration: knock.protocol (\"tcp\" -> \"udp\") takes effect on restart only (systemctl restart knockd)"
sed -i 's/^protocol = "tcp"$/protocol = "udp"/' "$WORK/knockd.toml"
if "$KNOCKD" -c "$WORK/knockd.toml" client remove bob >"$WORK/remove.out" 2>"$WORK/remove.err"; then
  fail "client remove exited 0 on a refused reload"
fi
[ "$(cat "$WORK/remove.out")" = "removed $WORK/clients.d/bob.toml" ] ||
  fail "client remove said: $(cat "$WORK/remove.out")"
[ "$(cat "$WORK/remove.err")" = "knockd: knockd pid $KNOCKD_PID: $REFUSAL" ] ||
  fail "client remove's refusal: $(cat "$WORK/remove.err")"
# knockd reload (systemd's ExecReload) fails the same way.
if OUT=$("$KNOCKD" -c "$WORK/knockd.toml" reload 2>&1); then
  fail "knockd reload exited 0 on a refused reload"
fi
[ "$OUT" = "knockd: knockd pid $KNOCKD_PID: $REFUSAL" ] || fail "knockd reload's refusal: $OUT"
# Control: the daemon still runs its old configuration (bob included), and
# with the change undone the same reload is taken.
knock_with "$C" "$WORK/bob.toml" bastion ssh --timeout 5s || fail "bob could not knock"
# (granted, or refreshed if the first hole is still open)
for _ in $(seq 50); do
  [ "$(grep -cE "(granted|refreshed) client bob service ssh from 198.18.0.2 " "$WORK/knockd.log")" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -cE "(granted|refreshed) client bob service ssh from 198.18.0.2 " "$WORK/knockd.log")" -ge 2 ] ||
  fail "bob's second knock was not taken after the refused reload"
sed -i 's/^protocol = "udp"$/protocol = "tcp"/' "$WORK/knockd.toml"
OUT=$("$KNOCKD" -c "$WORK/knockd.toml" reload) || fail "knockd reload failed: $OUT"
[ "$OUT" = "knockd pid $KNOCKD_PID: reloaded $WORK/knockd.toml: 1 clients" ] ||
  fail "knockd reload said: $OUT"
pass "a refused reload fails client remove and knockd reload, naming knock.protocol; undone, it reloads"

# A broken configuration never reaches the daemon.
echo "bogus = [" >>"$WORK/knockd.toml"
if OUT=$("$KNOCKD" -c "$WORK/knockd.toml" reload 2>&1); then
  fail "knockd reload exited 0 on a broken configuration"
fi
grep -q "^$WORK/knockd.toml:[0-9]*:[0-9]*: " <<<"$OUT" || fail "knockd reload, broken: $OUT"
sed -i '$d' "$WORK/knockd.toml"
[ "$(log_count knockd "reload refused")" -eq 2 ] ||
  fail "the broken configuration reached knockd"
pass "knockd reload of a broken configuration fails with FILE:LINE:COL and signals nothing"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" = 0 ] || fail "knockd exited $STOPPED_RC"
[ ! -e "$WORK/state/knockd.pid" ] || fail "the pid file outlived knockd"
RUNTIME_PID=$RUNTIME_DIRECTORY/$(tr / - <<<"${WORK#/}/knockd.toml").pid
[ ! -e "$RUNTIME_PID" ] || fail "the runtime pid file outlived knockd"
OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add bob --key "$BOB_PUB")
grep -qxF "knockd is not running (no $RUNTIME_PID nor $WORK/state/knockd.pid): the change takes effect when it starts" <<<"$OUT" ||
  fail "client add without a daemon said: $OUT"
pass "at stop the pid file goes; client add then says knockd is not running"
