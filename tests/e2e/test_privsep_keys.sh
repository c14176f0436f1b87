#!/usr/bin/env bash
# The sniffer holds no key, and the helper opens nothing it has not
# verified. (1) The sniffer's memory, read whole through /proc/PID/mem as
# root, holds neither the server's private key nor the pair key, after start
# and after a reload; the helper's memory does hold the pair key (so the
# scan can find one). (2) A compromised sniffer (a preloaded shim rewriting
# one port of its grant) makes the helper stop with status 1, the table
# intact and nothing open; the same knock without the shim opens. (3) The
# bound that stays: a shim that redirects a true grant to another address
# gets it opened there, and for that address only.
source "$(dirname "$0")/lib.sh"
TOOLS=$(dirname "$SEND_KNOCKS")
SHIM=$TOOLS/liblying_sniffer_shim.so
for tool in "$SHIM" "$TOOLS/scan_memory" "$TOOLS/print_pair_key"; do
  [ -e "$tool" ] || fail "$tool is not built"
done
TABLE=knockd_e2e_privsep_keys

alice_server "$TABLE"
# 2 s windows: the helper hands the sniffer new tables every 2 s, so every
# part of this test runs across several of them.
sed -i 's/^\[knock\]$/[knock]\nstep = "2s"/' "$WORK/knockd.toml"
client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_from() { knock_with "$C" "$WORK/knock.toml" --step 2s "$@"; }
start_bg "$S" listener nc -lk 198.18.0.1 2222

read -r _ PRIVATE_HEX < <("$TOOLS/print_pair_key" "$WORK/server.key" "$ALICE_PUB" | grep '^private')
read -r _ PAIR_HEX < <("$TOOLS/print_pair_key" "$WORK/server.key" "$ALICE_PUB" | grep '^pair')
[ ${#PRIVATE_HEX} -eq 64 ] && [ ${#PAIR_HEX} -eq 64 ] || fail "print_pair_key printed no keys"
# The key file's text form too, in case it were kept as read.
KEY_TEXT_HEX=$(tr -d '\n' <"$WORK/server.key" | od -An -tx1 | tr -d ' \n')

# start_knockd LOG [ENV...]: knockd run in $S; sets HELPER_PID, SNIFFER_PID.
start_knockd() {
  local log=$1; shift
  start_bg "$S" "$log" env "$@" "$KNOCKD" -c "$WORK/knockd.toml" run
  HELPER_PID=$LAST_PID
  wait_for_log "$log" "started:" 20
  SNIFFER_PID=$(sed -n 's/.*, sniffer pid \([0-9]*\) as knockd$/\1/p' "$WORK/$log.log")
  [ -n "$SNIFFER_PID" ] || fail "no sniffer pid in $log.log"
  PIDS+=("$SNIFFER_PID")
}

# count_in PID HEX: how often the bytes occur in PID's readable memory.
count_in() {
  local out
  out=$("$TOOLS/scan_memory" "$1" "$2" 2>"$WORK/scan.err") ||
    fail "cannot read the memory of $1: $(cat "$WORK/scan.err")"
  awk '{print $2}' <<<"$out"
}

expect_no_key_in_sniffer() {
  local when=$1 n
  n=$(count_in "$SNIFFER_PID" "$PRIVATE_HEX")
  [ "$n" -eq 0 ] || fail "$when: the sniffer's memory holds the server private key ($n times)"
  n=$(count_in "$SNIFFER_PID" "$KEY_TEXT_HEX")
  [ "$n" -eq 0 ] || fail "$when: the sniffer's memory holds the key file's text ($n times)"
  n=$(count_in "$SNIFFER_PID" "$PAIR_HEX")
  [ "$n" -eq 0 ] || fail "$when: the sniffer's memory holds alice's pair key ($n times)"
  # Control: the same scan finds the pair key in the helper, which derives
  # every sequence from it.
  n=$(count_in "$HELPER_PID" "$PAIR_HEX")
  [ "$n" -gt 0 ] || fail "$when: the scan found no pair key even in the helper"
}

# --- 1. No key in the sniffer, after start and after a reload. ---
start_knockd knockd
knock_from bastion ssh --wait 2222 --timeout 5s || fail "a valid knock did not open"
pass "control: a valid knock opens without the shim"
expect_no_key_in_sniffer "after start"
pass "after start: no private key, key text or pair key in the sniffer's memory; the helper holds the pair key"

# Without new tables the sniffer would lack the live windows after two
# rolls: a knock five windows on still opens.
sleep 10
knock_from bastion ssh --wait 2222 --timeout 5s || fail "no opening after five 2 s windows rolled"
pass "the tables follow the windows: a knock opens five windows after start"

kill -HUP "$HELPER_PID"
wait_for_log knockd "reloaded " 10
expect_no_key_in_sniffer "after a reload"
knock_from bastion ssh --wait 2222 --timeout 5s || fail "no opening after the reload"
pass "after a reload: still no key in the sniffer's memory, and knocks open"
stop_pid "$HELPER_PID"
[ "$STOPPED_RC" -eq 0 ] || fail "knockd stopped with status $STOPPED_RC"

# --- 2. A sniffer that lies about the ports stops the helper. ---
# (verify_asan_link_order: under ASan the shim comes before the runtime.)
start_knockd lying LD_PRELOAD="$SHIM" KNOCK_SHIM=port \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
knock_from bastion ssh --timeout 2s >/dev/null 2>&1 || true
for _ in $(seq 50); do kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1; done
stop_pid "$HELPER_PID"
[ "$STOPPED_RC" -eq 1 ] || fail "the helper exited with $STOPPED_RC for a lying sniffer"
grep -q -F "lying_sniffer_shim: rewrote a port of a grant" "$WORK/lying.log" ||
  fail "the shim never rewrote a grant"
grep -q "stopping: the sniffer sent a grant without its sequence: the grant's ports are not the sequence of client 0 service 0 window [0-9]* slot [0-9]*; the firewall table stays (fail closed)" "$WORK/lying.log" ||
  fail "no stop line: $(grep -i stopping "$WORK/lying.log")"
! grep -q "granted client" "$WORK/lying.log" || fail "the lying sniffer's grant was logged as granted"
in_ns "$S" nft list table inet "$TABLE" >/dev/null || fail "the table went with the helper"
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
pass "a sniffer rewriting one port stops the helper (status 1); the table stays, nothing opened"

# --- 3. What a compromised sniffer can still do: redirect a true grant. ---
# The grants of part 1 (open_for 4 s) run out first.
for _ in $(seq 80); do can_connect_from "$C" 198.18.0.2 198.18.0.1 2222 || break; sleep 0.1; done
expect_closed_from "$C" 198.18.0.2 198.18.0.1 2222
start_knockd redirect LD_PRELOAD="$SHIM" KNOCK_SHIM=address \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
knock_from bastion ssh --timeout 2s >/dev/null 2>&1 || true
wait_for_log redirect "granted client alice service ssh from 198.18.99.99 " 10
kill -0 "$HELPER_PID" || fail "the helper stopped on a true sequence sent elsewhere"
expect_closed_from "$C" 198.18.0.2 198.18.0.1 2222
pass "bound: a true sequence can be redirected (to 198.18.99.99), never invented"
stop_pid "$HELPER_PID"
