#!/usr/bin/env bash
# A capture filter swap the kernel refuses, live: the server's namespace
# gets a smaller option-memory limit (net.core.optmem_max, per namespace),
# which the kernel charges a socket's filter against, the old one still
# counted while the new one is attached. Lowered step by step until the
# swap to the next exact filter (about the size of the installed one) is
# refused: the sniffer installs the whole knock range instead (a program of
# a few instructions), logs the refusal once, keeps running, and installs
# the exact filter again at its retry (the old filter, now small, frees
# room). Knocks still open. The control: a limit below even the whole
# range's program stops the sniffer with both errors, as before.
source "$(dirname "$0")/lib.sh"

TABLE=knockd_e2e_frefused
OPTMEM=/proc/sys/net/core/optmem_max

# optmem_max belongs to each network namespace since Linux 6.9; before, the
# test would lower the host's own limit. Exit 77: skipped, said why.
IFS=. read -r major minor _ < <(uname -r)
if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "${minor%%[!0-9]*}" -lt 9 ]; }; then
  echo "SKIP: net.core.optmem_max is per namespace only since Linux 6.9 (this is $(uname -r))"
  exit 77
fi

alice_server "$TABLE"
S_DEV=$(veth_dev "$S")
client_config "$WORK/alice.toml" alice "$SERVER_PUB"
# The veth device (Ethernet view); step 2 s and 16 slots: a swap every
# 2 s, of an exact filter of about a thousand instructions.
sed -i "s/^interfaces = .*/interfaces = [\"$S_DEV\"]/" "$WORK/knockd.toml"
sed -i 's/^seq_timeout = .*/seq_timeout = "1s"\nstep = "2s"\nslots = 16/' "$WORK/knockd.toml"
start_bg "$S" listener nc -lk 198.18.0.1 2222
in_ns "$S" cat "$OPTMEM" >/dev/null || fail "no $OPTMEM in the server's namespace"
launch_knockd knockd
matches -F "(exact; " <"$WORK/knockd.log" || fail "no exact capture filter at start"
REFUSED="knockd: warning: capture filter: the exact filter was refused (\"cannot install the port filter on \"$S_DEV\": Cannot allocate memory\"); the whole knock range passes until it installs, tried again within 1 s"

# Down 4 KiB at a time, each limit held for a step: the first one the swap
# no longer fits under is within 4 KiB of two exact filters, well above one
# exact filter and the whole range's.
limit=65536
until matches -F "$REFUSED" <"$WORK/knockd.log"; do
  kill -0 "$KNOCKD_PID" 2>/dev/null ||
    fail "knockd stopped under a limit of $limit bytes: $(grep 'error' "$WORK/knockd.log")"
  [ "$limit" -gt 8192 ] || fail "no swap was refused down to $limit bytes"
  limit=$((limit - 4096))
  in_ns "$S" sh -c "echo $limit >$OPTMEM"
  sleep 2.2
done
pass "a swap was refused under a limit of $limit bytes, and logged"
kill -0 "$KNOCKD_PID" || fail "knockd stopped after a refused swap"
wait_for_log knockd "capture filter: the exact filter is installed again" 3
pass "the exact filter was installed again at the retry"

knock_with "$C" "$WORK/alice.toml" bastion ssh --step 2s --slots 16 \
  --wait 2222 --timeout 5s >"$WORK/knock.log" 2>&1 || fail "alice's knock did not open"
wait_for_log knockd "granted client alice service ssh from 198.18.0.2 " 5
pass "alice's knock opens after refused swaps and the retry"
# A few more rolls: each refusal episode is logged once, not per retry.
sleep 4.5
kill -0 "$KNOCKD_PID" || fail "knockd stopped while swaps were refused"
refusals=$(log_count knockd "$REFUSED")
recoveries=$(log_count knockd "the exact filter is installed again")
[ "$refusals" -ge 1 ] && [ "$refusals" -le $((recoveries + 1)) ] ||
  fail "$refusals refusals logged for $recoveries recoveries"
pass "$refusals refusal episodes, each logged once"

# The control: nothing fits, not even the whole range: the sniffer stops.
in_ns "$S" sh -c "echo 64 >$OPTMEM"
wait_for_log knockd "sniffer: cannot swap the capture filter: cannot install the port filter on \"$S_DEV\": Cannot allocate memory; the whole knock range was refused too: cannot install the port filter on \"$S_DEV\": Cannot allocate memory" 5
# The helper sees the sniffer go and stops on its own (fail closed).
wait_for_log knockd "stopping: the sniffer" 5
for _ in $(seq 50); do kill -0 "$KNOCKD_PID" 2>/dev/null || break; sleep 0.1; done
stop_pid "$KNOCKD_PID"
[ "$STOPPED_RC" -eq 1 ] || fail "knockd exited $STOPPED_RC, not 1, when no filter fitted"
matches "capture: received [0-9]* dropped_by_kernel [0-9]* filter_swaps_failed [1-9]" <"$WORK/knockd.log" ||
  fail "the failed swaps are not counted: $(grep 'capture: received' "$WORK/knockd.log")"
pass "with no room even for the whole range the sniffer stops (status 1); failed swaps counted"
