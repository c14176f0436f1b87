#!/usr/bin/env bash
# Fleet operations end to end: a client added as a clients.d drop-in by
# `knockd client add` reaches the running daemon by SIGHUP (through its pid
# file) and opens; `client remove` takes it away again; the metrics file
# counts the grant and node_exporter's textfile collector serves it over
# HTTP inside the test's namespaces.
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
start_bg "$S" knockd "$KNOCKD" -c "$WORK/knockd.toml" run
KNOCKD_PID=$LAST_PID
wait_for_log knockd "started: 1 clients" 10
[ "$(cat "$WORK/state/knockd.pid")" = "$KNOCKD_PID" ] ||
  fail "knockd.pid holds $(cat "$WORK/state/knockd.pid"), not $KNOCKD_PID"

# A bad key and a taken name are refused before anything is written.
if OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add alice --key "$BOB_PUB" 2>&1); then
  fail "client add accepted a taken name"
fi
[ "$OUT" = "knockd: client \"alice\" exists already, in $WORK/knockd.toml" ] ||
  fail "taken name: $OUT"
[ ! -e "$WORK/clients.d/alice.toml" ] || fail "a refused add wrote a file"

OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add bob --key "$BOB_PUB" --services ssh)
[ "$OUT" = "wrote $WORK/clients.d/bob.toml
reload: sent SIGHUP to knockd pid $KNOCKD_PID (from $WORK/state/knockd.pid)" ] ||
  fail "client add said: $OUT"
[ "$(stat -c %a "$WORK/clients.d/bob.toml")" = 640 ] || fail "drop-in mode"
wait_for_log knockd "reloaded $WORK/knockd.toml: 2 clients" 5
"$KNOCKD" -c "$WORK/knockd.toml" client list | grep -qE "^bob +ssh +$WORK/clients.d/bob.toml$" ||
  fail "client list: $("$KNOCKD" -c "$WORK/knockd.toml" client list)"
knock_with "$C" "$WORK/bob.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "bob's knock did not open after client add"
wait_for_log knockd "granted client bob service ssh from 198.18.0.2 " 5
pass "client add wrote clients.d/bob.toml, reloaded knockd by its pid file, bob opens"

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
wait_metric "knockd_reloads_total 1"
wait_metric "knockd_capture_received_total [1-9][0-9]*"
wait_metric "knockd_knocks_total 8"
pass "the metrics file counts the grant, the reload and the capture"

# node_exporter's textfile collector serves them; curl reads them from the
# client's namespace.
start_bg "$S" node_exporter prometheus-node-exporter \
  --web.listen-address=198.18.0.1:9100 --collector.disable-defaults \
  --collector.textfile --collector.textfile.directory="$WORK/textfile"
wait_for_log node_exporter "Listening on" 10
METRICS=$(timeout 10 ip netns exec "$C" curl -sS http://198.18.0.1:9100/metrics)
grep -qx "knockd_grants_total 1" <<<"$METRICS" ||
  fail "node_exporter does not serve knockd_grants_total 1"
grep -qx "# TYPE knockd_open_holes gauge" <<<"$METRICS" ||
  fail "node_exporter does not serve the open holes gauge"
grep -q 'node_textfile_scrape_error 0' <<<"$METRICS" ||
  fail "node_exporter could not read the file: $(grep textfile <<<"$METRICS")"
pass "prometheus-node-exporter serves knockd's metrics over HTTP"

OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client remove bob)
[ "$OUT" = "removed $WORK/clients.d/bob.toml
reload: sent SIGHUP to knockd pid $KNOCKD_PID (from $WORK/state/knockd.pid)" ] ||
  fail "client remove said: $OUT"
wait_for_log knockd "reloaded $WORK/knockd.toml: 1 clients" 5
pass "client remove took bob out and reloaded"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" = 0 ] || fail "knockd exited $STOPPED_RC"
[ ! -e "$WORK/state/knockd.pid" ] || fail "the pid file outlived knockd"
OUT=$("$KNOCKD" -c "$WORK/knockd.toml" client add bob --key "$BOB_PUB")
grep -qx "knockd is not running (no $WORK/state/knockd.pid): the change takes effect when it starts" <<<"$OUT" ||
  fail "client add without a daemon said: $OUT"
pass "at stop the pid file goes; client add then says knockd is not running"
