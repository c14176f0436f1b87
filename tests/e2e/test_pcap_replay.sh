#!/usr/bin/env bash
# `knockd replay --pcap` tells an administrator what a capture would have
# opened: over a capture of the live traffic (two clients, one over IPv6,
# and one replay attempt) it reports exactly the grants the live daemon
# logged, and the refused replay.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_pcap
two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
BOB_PUB=$(client_keys bob)
server_config "$WORK/knockd.toml" "$TABLE"
cat >>"$WORK/knockd.toml" <<TOML
[[client]]
name = "bob"
public_key = "$BOB_PUB"
services = ["ssh"]
TOML
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
client_config "$WORK/bob.toml" bob "$SERVER_PUB"

start_bg "$S" listener nc -lk 198.18.0.1 2222
start_bg "$S" listener6 nc -6 -lk 2001:db8::1 2222
start_capture "$S" "$WORK/server.pcap"
launch_knockd knockd

knock_with "$C" "$WORK/alice.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "alice's knock did not open"
knock_with "$C" "$WORK/bob.toml" bastion6 ssh --wait 2222 --timeout 5s ||
  fail "bob's IPv6 knock did not open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
wait_for_log knockd "granted client bob service ssh from 2001:db8::2 " 5
PORTS=$(grant_ports knockd alice 198.18.0.2)
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd "refused replay: client alice service ssh from 198.18.0.3 " 5
pass "live: alice (IPv4) and bob (IPv6) granted, the replay refused"
stop_capture
stop_pid "$KNOCKD_PID"

"$KNOCKD" -c "$WORK/knockd.toml" replay --pcap "$WORK/server.pcap" \
  >"$WORK/replay.log" 2>&1 || fail "knockd replay failed"

# Both sides as "VERDICT CLIENT SERVICE SOURCE WINDOW SLOT", sorted.
sed -n 's/.*info: granted client \([^ ]*\) service \([^ ]*\) from \([^ ]*\) (window \([0-9]*\) slot \([0-9]*\)).*/granted \1 \2 \3 \4 \5/p' \
  "$WORK/knockd.log" | sort >"$WORK/live.txt"
sed -n 's/.*refused replay: client \([^ ]*\) service \([^ ]*\) from \([^ ]*\) (window \([0-9]*\) slot \([0-9]*\)), first used by \([^ ]*\)$/replay \1 \2 \3 \4 \5 \6/p' \
  "$WORK/knockd.log" | sort >>"$WORK/live.txt"
sed -n 's/^[^ ]* granted client=\([^ ]*\) service=\([^ ]*\) source=\([^ ]*\) window=\([0-9]*\) slot=\([0-9]*\)$/granted \1 \2 \3 \4 \5/p' \
  "$WORK/replay.log" | sort >"$WORK/offline.txt"
sed -n 's/^[^ ]* replay client=\([^ ]*\) service=\([^ ]*\) source=\([^ ]*\) window=\([0-9]*\) slot=\([0-9]*\) first_source=\([^ ]*\)$/replay \1 \2 \3 \4 \5 \6/p' \
  "$WORK/replay.log" | sort >>"$WORK/offline.txt"

[ "$(wc -l <"$WORK/live.txt")" -eq 3 ] ||
  fail "expected 2 grants and 1 replay live, got: $(cat "$WORK/live.txt")"
grep -q "^granted bob ssh 2001:db8::2 " "$WORK/live.txt" || fail "no IPv6 grant"
grep -q "^replay alice ssh 198.18.0.3 .* 198.18.0.2$" "$WORK/live.txt" ||
  fail "no replay from 198.18.0.3 first used by 198.18.0.2"
diff -u "$WORK/live.txt" "$WORK/offline.txt" >"$WORK/diff.log" ||
  fail "replay --pcap differs from the live daemon: $(cat "$WORK/diff.log")"
[ "$(grep -c -v '^counters: ' "$WORK/replay.log")" -eq 3 ] ||
  fail "replay --pcap printed other decisions: $(cat "$WORK/replay.log")"
grep -q "^counters: .* grants 2 .* replays 1 " "$WORK/replay.log" ||
  fail "replay --pcap counters: $(grep counters "$WORK/replay.log")"
pass "replay --pcap reports the same grants (client, source, window, slot) and the replay"
