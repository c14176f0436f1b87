#!/usr/bin/env bash
# With `syslog = true` every grant, refusal and lifecycle line reaches the
# syslog socket with RFC 5424 structured data ([knock@32473 ...]) at the
# start of its message: the helper's grants, reloads, refused reload, start
# and stop, and the confined sniffer's refused replay (its socket is
# connected before the chroot and the seccomp filter). The syslog daemon is
# played by tests/tools/journal_sink bound at /dev/log in a private mount
# namespace (an overlay over /dev, seen by this test alone: the host's /dev
# is not written).
if [ -z "${KNOCK_PRIVATE_MOUNTS:-}" ]; then
  exec unshare --mount --propagation private env KNOCK_PRIVATE_MOUNTS=1 \
    bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
LOG_SINK=$(dirname "$SEND_KNOCKS")/journal_sink

mkdir "$WORK/dev-upper" "$WORK/dev-work"
mount -t overlay overlay \
  -o "lowerdir=/dev,upperdir=$WORK/dev-upper,workdir=$WORK/dev-work" /dev ||
  fail "cannot mount an overlay over /dev in this test's mount namespace"
"$LOG_SINK" /dev/log "$WORK/syslog.txt" 2>"$WORK/log_sink.log" &
PIDS+=("$!")
wait_for_log log_sink "listening on" 5

TABLE=knockd_e2e_syslog
alice_server "$TABLE"
sed -i '1i syslog = true' "$WORK/knockd.toml"
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
start_bg "$S" listener nc -lk 198.18.0.1 2222
launch_knockd knockd "started: 1 clients"
alice_knocks "$WORK/alice.toml"
PORTS=$(grant_ports knockd alice 198.18.0.2)
in_ns "$C" "$SEND_KNOCKS" --source 198.18.0.3 198.18.0.1 "$PORTS" ||
  fail "send_knocks could not replay"
wait_for_log knockd "refused replay: client alice service ssh from 198.18.0.3 " 5
OUT=$("$KNOCKD" -c "$WORK/knockd.toml" reload) || fail "reload: $OUT"
sed -i 's/^protocol = "tcp"$/protocol = "udp"/' "$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" reload 2>/dev/null && fail "a protocol change reloaded"
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" = 0 ] || fail "knockd exited $STOPPED_RC"

# syslog_line MESSAGE_START SD_PARAM...: one datagram, from knockd[PID], whose
# message begins with structured data holding each PARAM and then the
# message; prints it.
syslog_line() {
  local start=$1 line param
  shift
  line=$(grep -F -- "$start" "$WORK/syslog.txt" | head -n 1)
  [ -n "$line" ] || fail "no syslog line with \"$start\": $(cat "$WORK/syslog.txt")"
  [[ $line =~ ^\<[0-9]+\>[A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9:]{8}\ knockd\[[0-9]+\]:\ \[knock@32473\ message_id=\"[0-9a-f]{32}\"\ [^]]*\]\ [a-z]+:\ (.*)$ ]] ||
    fail "not \"<PRI>TIME knockd[PID]: [knock@32473 message_id=...] level: ...\": $line"
  [[ ${BASH_REMATCH[1]} == "$start"* ]] || fail "the message does not follow the structured data: $line"
  local sd
  sd=$(sed -n 's/^[^[]*\[[0-9]*\]: \(\[knock@32473 [^]]*\]\) .*/\1/p' <<<"$line")
  for param in "$@"; do
    grep -qF -- " $param" <<<"$sd" || fail "no $param in the structured data of: $line"
  done
}
syslog_line "started: 1 clients" 'event="started"'
syslog_line "granted client alice service ssh from 198.18.0.2 " \
  'verdict="granted"' 'client="alice"' 'service="ssh"' 'source="198.18.0.2"'
syslog_line "refused replay: client alice service ssh from 198.18.0.3 " \
  'verdict="replay"' 'client="alice"' 'source="198.18.0.3"' 'first_source="198.18.0.2"'
# The helper's summary of the sniffer's refusals, once their second is over.
syslog_line "refused 1 replay of client alice service ssh " \
  'verdict="replay"' 'client="alice"' 'source="198.18.0.3"' 'count="1"' 'sources="1"'
syslog_line "reloaded $WORK/knockd.toml: 1 clients" 'event="reloaded"'
syslog_line "reload refused, keeping the running configuration: knock.protocol" \
  'event="reload_refused"'
syslog_line "stopping on Terminated" 'event="stopping"'
pass "grants, the replay and its summary, reloads, start and stop reach syslog with RFC 5424 structured data"

# The sniffer's line came from the sniffer itself, through the socket it
# connected before confinement.
SNIFFER_PID=$(sed -n 's/.*sniffer pid \([0-9]*\) .*/\1/p' "$WORK/knockd.log" | head -n 1)
grep -F "refused replay: client alice" "$WORK/syslog.txt" | matches -F "knockd[$SNIFFER_PID]:" ||
  fail "the replay line is not the sniffer's (pid $SNIFFER_PID): $(grep -F 'refused replay' "$WORK/syslog.txt")"
# Control: a line this test did not cause is not there.
! grep -qF "refused expired window" "$WORK/syslog.txt" || fail "an expired window appeared"
pass "the confined sniffer's refusal reached syslog from its own pid"
