#!/usr/bin/env bash
# Never fail open: `nft flush ruleset`, and a `systemctl restart
# nftables`-style reload (a file that starts with `flush ruleset`, then the
# administrator's own table), both during a live grant. Within 1 s the
# protected port is hidden again from a stranger, the live grant is back
# (the granted client still connects), the daemon keeps running and the
# restore is logged and audited; after a restart of knockd, the grant of
# the earlier run is restored too; a table it cannot restore stops it with
# status 1. Control: the same flush with knockd
# stopped leaves the port open.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_flush
alice_server "$TABLE"
# Long enough to outlive both flushes and their checks.
sed -i 's/open_for = "4s"/open_for = "60s"/' "$WORK/knockd.toml"
sed -i "1i audit_log = \"$WORK/log/audit.jsonl\"" "$WORK/knockd.toml"
"$KNOCKD" -c "$WORK/knockd.toml" audit init >/dev/null 2>&1 ||
  fail "knockd audit init failed"

start_bg "$S" listener nc -lk 198.18.0.1 2222
# Every ruleset change in the server namespace with the time it was seen:
# how long the table was gone, as the kernel tells it (printed, not asserted).
start_bg "$S" monitor bash -c \
  'nft monitor | while IFS= read -r line; do echo "$EPOCHREALTIME $line"; done'
sleep 0.3
launch_knockd knockd
RULES=$(rule_count "$S" "$TABLE")

expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
client_config "$WORK/knock.toml" alice "$SERVER_PUB"
knock_with "$C" "$WORK/knock.toml" bastion ssh --wait 2222 --timeout 5s ||
  fail "knock --wait did not open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2" 5
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
pass "granted: alice (198.18.0.2) connects, a stranger (198.18.0.3) does not"

# restored_within_1s: the table is back with its rules and alice's element
# within a second of the flush.
restored_within_1s() {
  local start=$EPOCHREALTIME
  for _ in $(seq 20); do
    if in_ns "$S" nft list set inet "$TABLE" allowed4 2>/dev/null |
        matches "198.18.0.2 . tcp . 2222" &&
       [ "$(rule_count "$S" "$TABLE" 2>/dev/null)" = "$RULES" ]; then
      echo "table and grant listed again $(awk "BEGIN {printf \"%d\", ($EPOCHREALTIME - $start) * 1000}") ms after the flush returned"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# gap_ms N: from the Nth deletion of the table to the drop rule's return.
gap_ms() {
  awk -v n="$1" -v t="$TABLE" '
    $0 ~ ("delete table inet " t "$") { if (++seen == n) start = $1 }
    start && $0 ~ ("add rule inet " t " prerouting .*@protected drop") {
      printf "%.1f", ($1 - start) * 1000; exit }' "$WORK/monitor.log"
}

check_restored() {
  restored_within_1s || fail "$1: the table was not back within 1 s"
  echo "the drops were back $(gap_ms "$2") ms after the table was deleted (nft monitor)"
  kill -0 "$KNOCKD_PID" 2>/dev/null || fail "$1: knockd stopped"
  expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
  expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
}

# 1. nft flush ruleset.
in_ns "$S" nft flush ruleset
check_restored "nft flush ruleset" 1
wait_for_log knockd "firewall table inet $TABLE was changed by process nft" 2
pass "nft flush ruleset: hidden again, alice's grant restored, knockd running"

# 2. What `systemctl restart nftables` does on Debian: nft -f of a file that
# starts with `flush ruleset`, then the administrator's own table.
cat >"$WORK/nftables.conf" <<'NFT'
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority filter; policy accept;
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
  chain output {
    type filter hook output priority filter; policy accept;
  }
}
NFT
in_ns "$S" nft -f "$WORK/nftables.conf"
check_restored "nft -f nftables.conf" 2
in_ns "$S" nft list table inet filter >/dev/null ||
  fail "the administrator's table is gone"
pass "nftables.conf reload: hidden again, alice's grant restored, the administrator's table kept"

# A change rather than a deletion: the chain's rules and the protected set
# emptied, the table left standing.
in_ns "$S" nft -f - <<NFT
flush chain inet $TABLE prerouting
flush set inet $TABLE protected
NFT
restored_within_1s || fail "emptied chain: the rules were not back within 1 s"
in_ns "$S" nft list set inet "$TABLE" protected | matches "tcp . 2222" ||
  fail "emptied chain: the protected set was not refilled"
expect_closed_from "$C" 198.18.0.3 198.18.0.1 2222
expect_open_from "$C" 198.18.0.2 198.18.0.1 2222
pass "an emptied chain and protected set are refilled"

[ "$(log_count knockd "was changed by")" -eq 3 ] ||
  fail "expected 3 restores, got $(log_count knockd "was changed by") (a loop?)"
[ "$("$KNOCKD" audit --event restore --json "$WORK/log/audit.jsonl" | wc -l)" -eq 3 ] ||
  fail "expected 3 restore records in the audit log"
"$KNOCKD" audit --event restore --json "$WORK/log/audit.jsonl" |
  matches "\"table\":\"$TABLE\",\"by\":\"process nft (pid [0-9]*)\",\"grants\":1" ||
  fail "the restore record does not say what was restored"
pass "each restore logged and audited once, with its live grant"

# 3. A grant of an earlier run: knockd restarts (the table keeps alice's
# element), then the ruleset is flushed.
stop_pid "$KNOCKD_PID"
launch_knockd knockd2
in_ns "$S" nft flush ruleset
check_restored "nft flush ruleset after a restart" 3
wait_for_log knockd2 "restored with 1 live grants" 2
pass "after a restart, a flush brings back the earlier run's grant too"

# A table it cannot restore stops it with status 1 (systemd restarts it):
# the ruleset is replaced by one whose table of that name holds a nat chain
# called prerouting, which a filter chain cannot replace.
in_ns "$S" nft -f - <<NFT
flush ruleset
table inet $TABLE {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
  }
}
NFT
START=$EPOCHREALTIME
# Exited means a zombie (this shell has not waited for it yet) or gone.
exited() { case $(ps -o stat= -p "$1" 2>/dev/null) in Z* | "") return 0 ;; esac; return 1; }
for _ in $(seq 100); do exited "$KNOCKD_PID" && break; sleep 0.05; done
exited "$KNOCKD_PID" || fail "knockd still runs over a table it cannot restore"
echo "knockd exited $(awk "BEGIN {printf \"%d\", ($EPOCHREALTIME - $START) * 1000}") ms after the change"
STOPPED_RC=0
wait "$KNOCKD_PID" || STOPPED_RC=$?
[ "$STOPPED_RC" -eq 1 ] || fail "knockd exited with $STOPPED_RC, not 1"
grep -q "stopping: cannot restore firewall table inet $TABLE: nftables: Error: Could not process rule: Operation not supported (in \"add table inet $TABLE\")$" \
  "$WORK/knockd2.log" || fail "no reason for the stop in the log"
pass "a table it cannot restore stops knockd with status 1"

# Control: with knockd stopped, the same flush leaves the port open.
in_ns "$S" nft -f "$WORK/nftables.conf"
expect_open_from "$C" 198.18.0.3 198.18.0.1 2222
pass "control: knockd stopped, the same flush opens the port to anyone"
