#!/usr/bin/env bash
# Grants and lifecycle events reach journald natively with their fields
# (the helper logs grants: it decides them; the confined sniffer's refusal
# lines use the same socket, opened before confinement). journald is
# played by tests/tools/journal_sink, bound at /run/systemd/journal/socket
# in a private mount namespace (a tmpfs over /run/systemd, seen by this test
# alone).
if [ -z "${KNOCK_PRIVATE_MOUNTS:-}" ]; then
  exec unshare --mount --propagation private env KNOCK_PRIVATE_MOUNTS=1 \
    bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
JOURNAL_SINK=$(dirname "$SEND_KNOCKS")/journal_sink

mkdir -p /run/systemd
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mkdir -p /run/systemd/journal
"$JOURNAL_SINK" /run/systemd/journal/socket "$WORK/journal.txt" \
  2>"$WORK/journal_sink.log" &
PIDS+=("$!")
wait_for_log journal_sink "listening on" 5

TABLE=knockd_e2e_journal
alice_server "$TABLE"
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd "started: 1 clients"
alice_knocks "$WORK/alice.toml"

# entry FIELD=VALUE...: some datagram holds every one of these lines.
entry() {
  awk -v want="$*" '
    BEGIN { n = split(want, w, " ") }
    /^--$/ { found = 0; for (i = 1; i <= n; i++) found += (w[i] in seen)
             if (found == n) ok = 1; delete seen; next }
    { seen[$0] = 1 }
    END { exit ok ? 0 : 1 }' "$WORK/journal.txt"
}
for _ in $(seq 50); do
  entry KNOCK_VERDICT=granted && break
  sleep 0.1
done
entry PRIORITY=6 SYSLOG_IDENTIFIER=knockd \
  MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3d KNOCK_VERDICT=granted \
  KNOCK_CLIENT=alice KNOCK_SERVICE=ssh KNOCK_SOURCE=198.18.0.2 ||
  fail "no grant entry with its fields: $(cat "$WORK/journal.txt")"
pass "the grant reached journald with MESSAGE_ID and KNOCK_ fields"
entry MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b41 KNOCK_EVENT=started ||
  fail "no started entry"
stop_pid "$KNOCKD_PID"
entry MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b42 KNOCK_EVENT=stopping ||
  fail "no stopping entry"
pass "the helper's start and stop reached journald with their MESSAGE_IDs"
