#!/usr/bin/env bash
# The flood-alone piece of bench/run.sh part 3 (flood_clients), on its own
# and profiled: our knockd with N generated clients under the random-source
# SYN flood over 16384-32767, with `perf stat` (and, with PERF_RECORD=1,
# `perf record ${PERF_G--g}`) attached to the sniffer process only. Prints the
# sniffer's CPU per delivered frame: its task-clock over the frames its
# counters line reports. For comparing builds back to back by hand; the
# recorded numbers come from bench/run.sh.
#
#   bench/flood_profile.sh KNOCKD BENCH_TOOLS_DIR [CLIENTS [SECONDS [PPS]]]
#
# PPS 0 (the default) floods as fast as the generator goes, as run.sh does.
# Output files stay in $OUT (default a new /tmp/knock-flood.* directory).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "flood_profile: needs root (namespaces)" >&2; exit 1; }
[ $# -ge 2 ] || { echo "usage: bench/flood_profile.sh KNOCKD BENCH_TOOLS_DIR [CLIENTS [SECONDS [PPS]]]" >&2; exit 2; }
OURS=$(realpath "$1") TOOLS=$(realpath "$2")
CLIENTS=${3:-100} FLOOD_SECONDS=${4:-10} PPS=${5:-0}

source "$ROOT/bench/lib.sh"
WORK=$(mktemp -d /tmp/knock-flood-work.XXXXXX)
OUT=${OUT:-$(mktemp -d /tmp/knock-flood.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$WORK"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

hosts 0
(umask 077; "$OURS" genkey >"$WORK/server.key")
"$TOOLS/bench_gen_config" --out "$WORK/flood.toml" --server-key "$WORK/server.key" \
  --clients "$CLIENTS" --state-dir "$WORK/state" --table kflood >/dev/null
sed -i "s/^interfaces = .*/interfaces = [\"$S_DEV\"]/" "$WORK/flood.toml"
start_bg "$S" "$OUT/knockd.log" "$OURS" -c "$WORK/flood.toml" run
DAEMON_PID=$LAST_PID
wait_for_log "$OUT/knockd.log" "started:" 120
SNIFFER=$(pgrep -P "$DAEMON_PID" | head -n 1)
sleep 1

# user and system clock ticks of the sniffer: matching versus wake-ups.
ticks() { awk '{print $14, $15}' "/proc/$SNIFFER/stat"; }
read -r user0 system0 < <(ticks)
helper_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
helper0=$(helper_ticks)
switches() { awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n}' "/proc/$SNIFFER/status"; }
switches0=$(switches)
perf stat -e task-clock,cycles,instructions,cache-misses -p "$SNIFFER" \
  -o "$OUT/perf-stat.txt" &
STAT_PID=$!
if [ "${PERF_RECORD:-0}" = 1 ]; then
  perf record ${PERF_G--g} -o "$OUT/perf.data" -p "$SNIFFER" 2>"$OUT/perf-record.log" &
  RECORD_PID=$!
fi
rate=()
[ "$PPS" != 0 ] && rate=(--pps "$PPS")
in_ns "$C" "$TOOLS/bench_syn_flood" --dev "$C_DEV" --dst-mac "$S_MAC" \
  --dest 198.18.0.1 --ports 16384-32767 --seconds "$FLOOD_SECONDS" "${rate[@]}" \
  >"$OUT/flood.txt"
sleep 0.3
read -r user1 system1 < <(ticks)
switches1=$(switches)
helper1=$(helper_ticks)
kill -INT "$STAT_PID"
wait "$STAT_PID" || true
if [ -n "${RECORD_PID:-}" ]; then
  kill -INT "$RECORD_PID"
  wait "$RECORD_PID" || true
fi
stop_pid "$DAEMON_PID"
in_ns "$S" nft delete table inet kflood 2>/dev/null || true

frames=$(sed -n 's/.*counters: frames \([0-9]*\).*/\1/p' "$OUT/knockd.log" | tail -n 1)
task_ms=$(awk '/task-clock/ {gsub(",", "", $1); print $1}' "$OUT/perf-stat.txt")
cycles=$(awk '/cycles/ && !/stalled/ {gsub(",", "", $1); print $1; exit}' "$OUT/perf-stat.txt")
echo "flood: $(cat "$OUT/flood.txt")"
echo "filter: $(sed -n 's/.*capture filter: \([0-9]* ports\).*/\1/p' "$OUT/knockd.log" | head -n 1)"
echo "sniffer: $(grep -o 'counters: .*' "$OUT/knockd.log" | tail -n 1)"
echo "sniffer: $(grep -o 'capture: received.*' "$OUT/knockd.log" | tail -n 1)"
awk -v ms="$task_ms" -v c="$cycles" -v f="$frames" 'BEGIN {
  printf "sniffer task-clock %.0f ms, frames %d: %.0f ns per frame", ms, f, ms * 1e6 / f
  if (c + 0 > 0) printf ", %.0f cycles per frame", c / f
  printf "\n" }'
awk -v u=$((user1 - user0)) -v s=$((system1 - system0)) -v f="$frames" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "sniffer user %.0f ns, system %.0f ns per frame (clock ticks)\n", u / hz * 1e9 / f, s / hz * 1e9 / f }'
awk -v t=$((helper1 - helper0)) -v n="$(awk '{print $2}' "$OUT/flood.txt")" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "helper %.0f ms, %.0f ns per flood packet (clock ticks)\n", t / hz * 1e3, t / hz * 1e9 / n }'
echo "sniffer context switches: $((switches1 - switches0)) ($(awk -v n=$((switches1 - switches0)) -v f="$frames" 'BEGIN { printf "%.0f", f / (n ? n : 1) }') frames each)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); files in $OUT"
