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
# knockd's runtime files (pid, reload answers) go here, as systemd's
# RuntimeDirectory= would say, not into the host's /run/knockd.
export RUNTIME_DIRECTORY=$WORK/run
PIDS=()
NAMESPACES=()

# Sanitized builds (scripts/test.sh's build-asan): every program this test
# starts writes its ASan/UBSan/LSan reports here rather than to a log that a
# daemon's stop may never show, and e2e_cleanup fails the test on any report.
# World-writable because knockd may have dropped privileges by then. Plain
# builds ignore the variables.
SANITIZER_DIR=$WORK/sanitizer
mkdir -p "$SANITIZER_DIR"
chmod 1777 "$SANITIZER_DIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_DIR/asan
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_DIR/ubsan

e2e_cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    # 5 s, as stop_pid: a sanitized daemon checks for leaks as it exits.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  for report in "$SANITIZER_DIR"/*; do
    [ -f "$report" ] || continue
    echo "FAIL: sanitizer report $(basename "$report"):" >&2
    cat "$report" >&2
    [ "$rc" -ne 0 ] || rc=1
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

# knockd's packet sniffer runs as this account (the configuration's `user`).
id knockd >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin knockd

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

# matches GREP_ARGS...: `grep -q` that reads all of its input first. Under
# pipefail, `cmd | grep -q X` fails at random: grep exits at the first match
# and cmd, still writing, dies of SIGPIPE.
matches() { local input; input=$(cat); grep -q "$@" <<<"$input"; }

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

# --- Helpers shared by the later tests (additive). ---

# two_hosts: a server namespace $S (198.18.0.1, 2001:db8::1) and a client
# namespace $C (198.18.0.2 and 198.18.0.3, 2001:db8::2) joined by one link;
# $C_DEV is the client's end of it.
two_hosts() {
  S=${E2E}s C=${E2E}c
  ns_add "$S"; ns_add "$C"
  veth "$S" 198.18.0.1/24 "$C" 198.18.0.2/24 2001:db8::1/64 2001:db8::2/64
  C_DEV=$(veth_dev "$C")
  ip -n "$C" addr add 198.18.0.3/24 dev "$C_DEV"
}

# veth_dev NS: the name of the veth link in NS.
veth_dev() {
  ip -n "$1" -o link show type veth | awk -F'[ @:]+' '{print $2; exit}'
}

# server_config FILE TABLE [PROTOCOL]: the daemon's configuration with
# service ssh (tcp/2222, open 4 s) and client alice ($ALICE_PUB); more
# [[client]] tables may be appended to FILE.
server_config() {
  cat >"$1" <<TOML
private_key_file = "$WORK/server.key"
state_dir = "$WORK/state"
interfaces = ["any"]
[knock]
ports = "16384-32767"
protocol = "${3:-tcp}"
seq_timeout = "5s"
[firewall]
table = "$2"
[service.ssh]
ports = ["tcp/2222"]
open_for = "4s"
[[client]]
name = "alice"
public_key = "$ALICE_PUB"
services = ["ssh"]
TOML
}

# alice_server TABLE: the setup most tests start from: two_hosts, the
# server's key ($SERVER_PUB), alice's ($ALICE_PUB) and $WORK/knockd.toml for
# TABLE (server_config), which the test may change before knockd starts.
alice_server() {
  two_hosts
  server_keys
  ALICE_PUB=$(client_keys alice)
  server_config "$WORK/knockd.toml" "$1"
}

# launch_knockd LOGNAME [STARTED]: `knockd run` on $WORK/knockd.toml in $S,
# logging to LOGNAME.log; returns once it logged STARTED (default "started"),
# failing after 10 s. Its pid is in KNOCKD_PID.
launch_knockd() {
  start_bg "$S" "$1" "$KNOCKD" -c "$WORK/knockd.toml" run
  KNOCKD_PID=$LAST_PID
  wait_for_log "$1" "${2:-started}" 10
}

# alice_knocks CONF: alice knocks from $C (198.18.0.2) for ssh with CONF
# and waits for the port; fails unless it opened and knockd.log has the grant.
alice_knocks() {
  knock_with "$C" "$1" bastion ssh --wait 2222 --timeout 5s ||
    fail "alice's knock did not open"
  wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
}

# client_config FILE KEYNAME SERVER_PUBLIC_KEY: a knock client configuration
# with servers bastion (IPv4) and bastion6 (IPv6), both 198.18.0.1's host.
client_config() {
  cat >"$1" <<TOML
private_key_file = "$WORK/$2.key"
[server.bastion]
host = "198.18.0.1"
public_key = "$3"
[server.bastion6]
host = "2001:db8::1"
public_key = "$3"
TOML
}

# knock_with NS CONF ARGS...: the real client in NS, its home and state in
# $WORK.
knock_with() {
  local ns=$1 conf=$2; shift 2
  in_ns "$ns" env HOME="$WORK/home" XDG_STATE_HOME="$WORK/client-state" \
    XDG_CONFIG_HOME="$WORK/home/.config" "$KNOCK" -c "$conf" "$@"
}

# can_connect_from NS SOURCE HOST PORT: as can_connect, from address SOURCE.
can_connect_from() {
  timeout 4 ip netns exec "$1" nc -z -w 2 -s "$2" "$3" "$4" >/dev/null 2>&1
}
expect_open_from() {
  can_connect_from "$@" || fail "$3 port $4 is closed to $2 in $1"
}
expect_closed_from() {
  ! can_connect_from "$@" || fail "$3 port $4 answers $2 in $1"
}

# grant_line LOGNAME CLIENT SOURCE: the last grant line of CLIENT from
# SOURCE in LOGNAME.log.
grant_line() {
  grep -F "granted client $2 service " "$WORK/$1.log" |
    grep -F " from $3 (window " | tail -n 1
}

# grant_ports LOGNAME CLIENT SOURCE: that grant's ports, "P1,P2,...".
grant_ports() {
  grant_line "$@" | sed -n 's/.* ports \([0-9,]*\) until .*/\1/p'
}

# grant_window_slot LOGNAME CLIENT SOURCE: that grant's "WINDOW SLOT".
grant_window_slot() {
  grant_line "$@" | sed -n 's/.*(window \([0-9]*\) slot \([0-9]*\)).*/\1 \2/p'
}

# log_count LOGNAME TEXT: how many lines of LOGNAME.log hold TEXT.
log_count() {
  grep -c -F -- "$2" "$WORK/$1.log" 2>/dev/null || true
}

# stop_pid PID [SIGNAL]: signals PID (default TERM) and waits for it, at most
# 5 s before SIGKILL. Its exit status is in STOPPED_RC.
stop_pid() {
  kill -"${2:-TERM}" "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  STOPPED_RC=0
  wait "$1" 2>/dev/null || STOPPED_RC=$?
}

# start_capture NS FILE: tcpdump on every interface of NS, writing FILE;
# returns once it listens. Its pid is in CAPTURE_PID.
start_capture() {
  start_bg "$1" "capture-$(basename "$2")" \
    tcpdump -i any --immediate-mode -U -n -s 256 -w "$2"
  CAPTURE_PID=$LAST_PID
  wait_for_log "capture-$(basename "$2")" "listening on" 10
}

# stop_capture: stops the capture with SIGINT so that the file is complete.
stop_capture() {
  sleep 0.5
  stop_pid "$CAPTURE_PID" INT
}

# rule_count NS TABLE: rules in the daemon's chain.
rule_count() {
  in_ns "$1" nft -a list chain inet "$2" prerouting | grep -c '# handle'
}
