#!/usr/bin/env bash
# Shared by the end-to-end tests: network namespaces joined by veth pairs,
# knockd and clients started in them, cleanup by pid and by name even when a
# test fails, and every wait bounded. Test hosts use 198.18.0.0/15 and
# 2001:db8::/32 only, inside namespaces the test made.
set -euo pipefail

KNOCKD=$(readlink -f "$1")
KNOCK=$(readlink -f "$2")
SEND_KNOCKS=$(readlink -f "$3")
E2E=kn$$                       # prefix of this test's namespace names
WORK=$(mktemp -d /tmp/knock-e2e.XXXXXX)
chmod 755 "$WORK"
PIDS=()
NAMESPACES=()

e2e_cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ "$rc" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# ns_add NAME: a fresh namespace with loopback up.
ns_add() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# veth NS1 ADDR1/PREFIX NS2 ADDR2/PREFIX [ADDR6_1/P ADDR6_2/P]: a link.
veth() {
  local a=v$RANDOM$RANDOM b=v$RANDOM$RANDOM
  ip link add "$a" netns "$1" type veth peer name "$b" netns "$3"
  ip -n "$1" addr add "$2" dev "$a"
  ip -n "$3" addr add "$4" dev "$b"
  if [ $# -ge 6 ]; then
    ip -n "$1" addr add "$5" dev "$a" nodad
    ip -n "$3" addr add "$6" dev "$b" nodad
  fi
  ip -n "$1" link set "$a" up
  ip -n "$3" link set "$b" up
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# start_bg NS LOGNAME CMD...: runs CMD in NS in the background; its pid
# (the command itself: ip netns exec execs it) is cleaned up at exit.
start_bg() {
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$WORK/$log.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# wait_for_log LOGNAME PATTERN SECONDS
wait_for_log() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$WORK/$1.log" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "no \"$2\" in $1.log after $3 s"
    sleep 0.05
  done
}

# can_connect NS HOST PORT: exit 0 if a TCP connection completes in 2 s.
can_connect() {
  timeout 4 ip netns exec "$1" nc -z -w 2 "$2" "$3" >/dev/null 2>&1
}
expect_open() { can_connect "$@" || fail "$2 port $3 is closed from $1"; }
expect_closed() { ! can_connect "$@" || fail "$2 port $3 answers from $1"; }

# server_keys: writes $WORK/server.key and sets SERVER_PUB.
server_keys() {
  (umask 077; "$KNOCKD" genkey >"$WORK/server.key")
  SERVER_PUB=$("$KNOCKD" pubkey <"$WORK/server.key")
}

# client_keys NAME: writes $WORK/NAME.key and prints its public key.
client_keys() {
  (umask 077; "$KNOCK" genkey >"$WORK/$1.key")
  "$KNOCK" pubkey <"$WORK/$1.key"
}
