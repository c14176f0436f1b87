#!/usr/bin/env bash
# Soak: knockd with a one-second step runs through thousands of grants and
# window rolls under a light flood. Both processes' memory (VmRSS, and the
# heap alone: RssAnon) and descriptor counts must be flat after warm-up: the
# mean of the second half of the samples against the first, with a
# tolerance. The growth slope of each is printed (kB per 1,000 grants), so
# that a regression shows as a number, not just a failure.
#
#   test_soak_memory.sh KNOCKD KNOCK SEND_KNOCKS KNOCK_FLOOD [SECONDS]
source "$(dirname "$0")/../e2e/lib.sh"
KNOCK_FLOOD=$(readlink -f "$4")
RUN_SECONDS=${5:-100}
WARMUP_SECONDS=20
SAMPLE_SECONDS=2
CLIENTS=25
PER_WINDOW=100            # grants a second: 25 clients x 4 slots
NOISE_PPS=${SOAK_NOISE_PPS:-2000}
RSS_TOLERANCE_KB=${SOAK_RSS_TOLERANCE_KB:-96}
FD_TOLERANCE=0

two_hosts
server_keys
ALICE_PUB=$(client_keys alice)
{
  cat <<TOML
private_key_file = "$WORK/server.key"
state_dir = "$WORK/state"
interfaces = ["any"]
[knock]
ports = "16384-32767"
step = "1s"
skew = 1
seq_timeout = "2s"
[firewall]
table = "knockd_soak"
[service.ssh]
ports = ["tcp/2222"]
open_for = "1s"
TOML
  for i in $(seq "$CLIENTS"); do
    printf '[[client]]\nname = "c%d"\npublic_key = "%s"\nservices = ["ssh"]\n' \
      "$i" "$(client_keys "c$i")"
  done
} >"$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" check >/dev/null

start_bg "$S" knockd "$KNOCKD" -c "$WORK/knockd.toml" run
HELPER_PID=$LAST_PID
wait_for_log knockd "started" 10
SNIFFER_PID=$(sed -n 's/.*, sniffer pid \([0-9]*\) as .*/\1/p' "$WORK/knockd.log" | head -n 1)
[ -n "$SNIFFER_PID" ] || fail "no sniffer pid in the started line"

S_DEV=$(veth_dev "$S")
S_MAC=$(ip -n "$S" -o link show "$S_DEV" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
start_bg "$C" flood "$KNOCK_FLOOD" --dev "$C_DEV" --dst-mac "$S_MAC" \
  --dest 198.18.0.1 --seconds "$RUN_SECONDS" --grants "$WORK/knockd.toml" \
  --per-window "$PER_WINDOW" --noise-pps "$NOISE_PPS"
FLOOD_PID=$LAST_PID

# sample PID FIELD: a kB field of /proc/PID/status.
field_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
grants_now() { log_count knockd "granted client "; }

START=$SECONDS
: >"$WORK/samples"
while [ $((SECONDS - START)) -lt "$RUN_SECONDS" ]; do
  kill -0 "$HELPER_PID" 2>/dev/null || fail "knockd died"
  kill -0 "$SNIFFER_PID" 2>/dev/null || fail "the sniffer died"
  kill -0 "$FLOOD_PID" 2>/dev/null || break
  if [ $((SECONDS - START)) -ge "$WARMUP_SECONDS" ]; then
    echo "$((SECONDS - START)) $(grants_now)" \
      "$(field_kb "$HELPER_PID" VmRSS) $(field_kb "$HELPER_PID" RssAnon)" \
      "$(ls "/proc/$HELPER_PID/fd" | wc -l)" \
      "$(field_kb "$SNIFFER_PID" VmRSS) $(field_kb "$SNIFFER_PID" RssAnon)" \
      "$(ls "/proc/$SNIFFER_PID/fd" | wc -l)" >>"$WORK/samples"
  fi
  sleep "$SAMPLE_SECONDS"
done
stop_pid "$FLOOD_PID"
GRANTS=$(grants_now)
stop_pid "$HELPER_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd exited $STOPPED_RC on SIGTERM"
ROLLS=$((SECONDS - START))
[ "$GRANTS" -ge 3000 ] || fail "only $GRANTS grants in $ROLLS s (want thousands)"
[ "$(wc -l <"$WORK/samples")" -ge 10 ] || fail "too few samples"
echo "soak: $GRANTS grants, about $ROLLS window rolls, $(wc -l <"$WORK/samples") samples after ${WARMUP_SECONDS}s warm-up"

# Per column: first-half and second-half mean (or, with "min", least), and
# the least-squares slope against the grant count, in kB (or descriptors)
# per 1,000 grants. Descriptors compare their least: a file open for an
# instant (the used set being saved as the sample is taken) is no leak,
# while a leak raises the floor.
report() {
  awk -v col="$1" -v name="$2" -v tol="$3" -v stat="${4:-mean}" '
    { t[NR] = $2; v[NR] = $col }
    END {
      n = NR; h = int(n / 2)
      a = v[1]; b = v[n]
      for (i = 1; i <= h; ++i) if (stat == "min") { if (v[i] < a) a = v[i] } else sa += v[i]
      for (i = n - h + 1; i <= n; ++i) if (stat == "min") { if (v[i] < b) b = v[i] } else sb += v[i]
      if (stat != "min") { a = sa / h; b = sb / h }
      for (i = 1; i <= n; ++i) { mt += t[i]; mv += v[i] }
      mt /= n; mv /= n
      for (i = 1; i <= n; ++i) { sxy += (t[i] - mt) * (v[i] - mv); sxx += (t[i] - mt) ^ 2 }
      slope = sxx > 0 ? 1000 * sxy / sxx : 0
      printf "%-18s first half %9.1f second half %9.1f growth %7.1f slope %7.2f per 1000 grants (tolerance %d)\n",
             name, a, b, b - a, slope, tol
      exit (b - a > tol) ? 1 : 0
    }' "$WORK/samples"
}
ok=1
report 3 "helper VmRSS kB" "$RSS_TOLERANCE_KB" || ok=0
report 4 "helper RssAnon kB" "$RSS_TOLERANCE_KB" || ok=0
report 5 "helper fds (least)" "$FD_TOLERANCE" min || ok=0
report 6 "sniffer VmRSS kB" "$RSS_TOLERANCE_KB" || ok=0
report 7 "sniffer RssAnon kB" "$RSS_TOLERANCE_KB" || ok=0
report 8 "sniffer fds (least)" "$FD_TOLERANCE" min || ok=0
[ "$ok" -eq 1 ] || fail "memory or descriptors grew after warm-up"
pass "both processes flat over $GRANTS grants"
