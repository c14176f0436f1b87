#!/usr/bin/env bash
# Helpers of bench/run.sh: namespaces joined by a veth pair, processes
# started in them and cleaned up by pid (and the namespaces deleted) even
# when a part fails, and the small statistics the report needs. Addresses
# are 198.18.0.0/15 only, inside namespaces made here.

BENCH_PIDS=()
BENCH_NAMESPACES=()
BENCH_PREFIX=kb$$

bench_cleanup() {
  local rc=$?
  set +e
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "${BENCH_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "${WORK:-}" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
  exit "$rc"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# hosts CLIENT_ADDRESSES: server namespace $S (198.18.0.1/16 on $S_DEV, MAC
# $S_MAC) and client namespace $C (198.18.0.2/16 and 198.18.1.1 ... on
# $C_DEV), one veth pair between them.
hosts() {
  S=${BENCH_PREFIX}s C=${BENCH_PREFIX}c
  S_DEV=vs$$ C_DEV=vc$$
  for ns in "$S" "$C"; do
    ip netns add "$ns"
    BENCH_NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
  done
  ip link add "$S_DEV" netns "$S" type veth peer name "$C_DEV" netns "$C"
  ip -n "$S" addr add 198.18.0.1/16 dev "$S_DEV"
  ip -n "$C" addr add 198.18.0.2/16 dev "$C_DEV"
  local i
  for i in $(seq 1 "$1"); do
    echo "addr add 198.18.$((1 + (i - 1) / 250)).$((1 + (i - 1) % 250))/16 dev $C_DEV"
  done | ip -n "$C" -batch -
  ip -n "$S" link set "$S_DEV" up
  ip -n "$C" link set "$C_DEV" up
  S_MAC=$(ip -n "$S" -o link show "$S_DEV" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
}

# client_address N: the Nth extra client address (1-based).
client_address() { echo "198.18.$((1 + ($1 - 1) / 250)).$((1 + ($1 - 1) % 250))"; }

# start_bg NS LOG CMD...: CMD in NS in the background, pid in LAST_PID.
start_bg() {
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  LAST_PID=$!
  BENCH_PIDS+=("$LAST_PID")
}

# wait_for_log FILE PATTERN SECONDS
wait_for_log() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "bench: no \"$2\" in $1 after $3 s" >&2
      tail -n 20 "$1" >&2
      return 1
    fi
    sleep 0.02
  done
}

# stop_pid PID [SIGNAL]: signal and wait, SIGKILL after 5 s.
stop_pid() {
  kill -"${2:-TERM}" "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# family PID: PID and its children. Our knockd is two processes (the
# firewall helper and its sniffer child); every daemon is measured whole.
family() { echo "$1"; pgrep -P "$1" || true; }
# sum_status PID FIELD: FIELD of /proc/*/status summed over the family
# (shared pages count once per process: an upper bound).
sum_status() {
  local total=0 pid value
  for pid in $(family "$1"); do
    value=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${value:-0}))
  done
  echo "$total"
}
# cpu_ticks PID: user + system clock ticks so far, over the family.
cpu_ticks() {
  local total=0 pid value
  for pid in $(family "$1"); do
    value=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true)
    total=$((total + ${value:-0}))
  done
  echo "$total"
}
# peak_rss_kb PID: VmHWM over the family.
peak_rss_kb() { sum_status "$1" VmHWM; }

# percentile FILE P: the P-th percentile (nearest rank) of FILE's numbers.
percentile() {
  sort -n "$1" | awk -v p="$2" '{v[NR] = $1}
    END {if (NR == 0) {print "n/a"; exit}
         r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; print v[r]}'
}

# ratio A B: A / B with two decimals, n/a when either is not a number.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b;
    else printf "n/a"}'
}
