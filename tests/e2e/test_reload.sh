#!/usr/bin/env bash
# SIGHUP reloads the configuration without a restart: a broken file is
# refused with its FILE:LINE:COL error and the running configuration keeps
# working; a valid one adding a client takes effect at once; a sequence
# half sent when the reload happens still completes; concurrent `knockd
# reload`s all get an answer; an edited state_dir is refused by name.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_reload
two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
BOB_PUB=$(client_keys bob)
CAROL_PUB=$(client_keys carol)
server_config "$WORK/alice-only.toml" "$TABLE"
cp "$WORK/alice-only.toml" "$WORK/knockd.toml"
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
client_config "$WORK/bob.toml" bob "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
start_bg "$S" listener6 nc -6 -lk 2001:db8::1 2222
launch_knockd knockd "started: 1 clients"

# Garbage: the daemon says why, where, and keeps running as it was.
printf '[knock\nports = = "16384-32767"\n' >"$WORK/knockd.toml"
if CHECK_ERR=$("$KNOCKD" -c "$WORK/knockd.toml" check 2>&1); then
  fail "check accepted garbage"
fi
grep -q "^$WORK/knockd.toml:[0-9]*:[0-9]*: " <<<"$CHECK_ERR" ||
  fail "check's error has no FILE:LINE:COL: $CHECK_ERR"
kill -HUP "$KNOCKD_PID"
wait_for_log knockd "reload refused" 5
grep -q -F "knockd: error: reload refused, keeping the running configuration: $CHECK_ERR" "$WORK/knockd.log" ||
  fail "the refusal does not carry \"$CHECK_ERR\": $(grep "reload refused" "$WORK/knockd.log")"
kill -0 "$KNOCKD_PID" || fail "knockd died on a bad reload"
knock_with "$C" "$WORK/alice.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "alice's knock did not open after the refused reload"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
pass "a broken config is refused (${CHECK_ERR%%: *}) and knocks still open"

# bob is unknown until the new file is loaded.
server_config "$WORK/alice-bob.toml" "$TABLE"
cat >>"$WORK/alice-bob.toml" <<TOML
[[client]]
name = "bob"
public_key = "$BOB_PUB"
services = ["ssh"]
TOML
cp "$WORK/alice-bob.toml" "$WORK/knockd.toml"
kill -HUP "$KNOCKD_PID"
wait_for_log knockd "reloaded $WORK/knockd.toml: 2 clients" 5
expect_closed "$C" 2001:db8::1 2222
knock_with "$C" "$WORK/bob.toml" bastion6 ssh --wait 2222 --timeout 5s ||
  fail "bob's knock did not open after the reload"
wait_for_log knockd "granted client bob service ssh from 2001:db8::2 " 5
expect_open "$C" 2001:db8::1 2222
pass "after SIGHUP, the new client bob opens without a restart"

# Half a sequence, a reload (carol added: a new table), the other half.
PORTS=$(knock_with "$C" "$WORK/alice.toml" bastion ssh --dry-run)
read -r -a P <<<"$PORTS"
[ "${#P[@]}" -eq 8 ] || fail "--dry-run printed \"$PORTS\""
FIRST=$(IFS=,; echo "${P[*]:0:4}")
SECOND=$(IFS=,; echo "${P[*]:4:4}")
server_config "$WORK/knockd.toml" "$TABLE"
cat >>"$WORK/knockd.toml" <<TOML
[[client]]
name = "bob"
public_key = "$BOB_PUB"
services = ["ssh"]
[[client]]
name = "carol"
public_key = "$CAROL_PUB"
services = ["ssh"]
TOML
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$FIRST" ||
  fail "send_knocks failed (first half)"
kill -HUP "$KNOCKD_PID"
wait_for_log knockd "reloaded $WORK/knockd.toml: 3 clients" 5
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$SECOND" ||
  fail "send_knocks failed (second half)"
wait_for_log knockd "granted client alice service ssh from 198.18.0.3 " 5
expect_open_from "$C" 198.18.0.3 198.18.0.1 2222
pass "a sequence sent across a SIGHUP still completes"

# Three `knockd reload`s at once: each gets the daemon's answer, its own or
# that of a reload that began after it asked, never a timeout.
for i in 1 2 3; do
  timeout 30 "$KNOCKD" -c "$WORK/knockd.toml" reload >"$WORK/reload$i.out" 2>&1 &
  eval "RELOAD_PID$i=\$!"
  PIDS+=("$!")
done
for i in 1 2 3; do
  eval "wait \$RELOAD_PID$i" ||
    fail "concurrent reload $i failed: $(cat "$WORK/reload$i.out")"
  matches "^knockd pid $KNOCKD_PID: reloaded $WORK/knockd.toml: 3 clients" <"$WORK/reload$i.out" ||
    fail "concurrent reload $i said: $(cat "$WORK/reload$i.out")"
done
pass "three concurrent knockd reloads each get a true answer"

# state_dir edited before the reload: the running daemon is still found
# (its pid file in the runtime directory is named by the configuration
# file), and the reload is refused naming the key.
sed -i "s|^state_dir = .*|state_dir = \"$WORK/state2\"|" "$WORK/knockd.toml"
if OUT=$("$KNOCKD" -c "$WORK/knockd.toml" reload 2>&1); then
  fail "a reload that moves state_dir was taken: $OUT"
fi
matches -F "state_dir (\"$WORK/state\" -> \"$WORK/state2\") takes effect on restart only (systemctl restart knockd)" <<<"$OUT" ||
  fail "the refusal does not name state_dir: $OUT"
# Control: without the runtime directory's pid file, the edited state_dir
# alone does not lead to the daemon.
if OUT=$(RUNTIME_DIRECTORY=$WORK/no-runtime "$KNOCKD" -c "$WORK/knockd.toml" reload 2>&1); then
  fail "reload found a daemon through the edited state_dir: $OUT"
fi
matches -F "knockd is not running (no $WORK/no-runtime/" <<<"$OUT" ||
  fail "the control said: $OUT"
kill -0 "$KNOCKD_PID" || fail "knockd died on the refused reload"
pass "after state_dir was edited, knockd reload finds the daemon and names the restart-only key"

stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
