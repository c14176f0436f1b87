#!/usr/bin/env bash
# The include rules between the source folders, read from the #include lines:
#   common/          includes only common/ (what both programs share);
#   knock/           the client: common/ and knock/, never knockd/;
#   knockd/shared/   what both daemon processes use: common/ and itself;
#   knockd/sniffer/  the unprivileged process: common/, shared/, sniffer/;
#   knockd/helper/   the privileged process: common/, shared/, helper/, audit/;
#   knockd/audit/    the audit trail: common/, shared/ and audit/, and no
#                    packet or pipeline code (that lives in sniffer/);
#   knockd/*.cc      the subcommands: anything in common/ and knockd/.
# Every violation is printed as FILE:LINE: "included" (rule); exit 1 if any.
# `--self-test` also proves the check can fail, on a planted violation.
set -euo pipefail
root=${1:?usage: test_include_rules.sh SOURCE_DIR [--self-test]}

# allowed_prefixes FILE: the folders FILE may include from.
allowed_prefixes() {
  case "$1" in
    common/*) echo "common/" ;;
    knock/*) echo "common/ knock/" ;;
    knockd/shared/*) echo "common/ knockd/shared/" ;;
    knockd/sniffer/*) echo "common/ knockd/shared/ knockd/sniffer/" ;;
    knockd/helper/*) echo "common/ knockd/shared/ knockd/helper/ knockd/audit/" ;;
    knockd/audit/*) echo "common/ knockd/shared/ knockd/audit/" ;;
    knockd/*) echo "common/ knockd/" ;;
    *) echo "" ;;
  esac
}

# check_tree DIR: prints every violation under DIR; returns 1 if any.
check_tree() {
  local dir=$1 bad=0 file line_no included prefix ok
  while IFS= read -r file; do
    local rel=${file#"$dir"/}
    local allowed
    allowed=$(allowed_prefixes "$rel")
    while IFS=: read -r line_no included; do
      [ -n "$line_no" ] || continue
      ok=0
      for prefix in $allowed; do
        case "$included" in "$prefix"*) ok=1 ;; esac
      done
      if [ $ok = 0 ]; then
        echo "$rel:$line_no: \"$included\" (may include only: $allowed)"
        bad=1
      fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
             sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
  done < <(find "$dir/common" "$dir/knock" "$dir/knockd" -name '*.h' -o -name '*.cc' | sort)
  return $bad
}

if [ "${2:-}" = --self-test ]; then
  # A copy of the tree with one planted violation must fail, naming it.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  cp -r "$root/common" "$root/knock" "$root/knockd" "$scratch/"
  echo '#include "knockd/helper/helper.h"' >> "$scratch/knockd/sniffer/sniffer.cc"
  if out=$(check_tree "$scratch"); then
    echo "FAIL: a sniffer including the helper was not caught" >&2
    exit 1
  fi
  lines=$(wc -l < "$scratch/knockd/sniffer/sniffer.cc")
  want="knockd/sniffer/sniffer.cc:$lines: \"knockd/helper/helper.h\" (may include only: common/ knockd/shared/ knockd/sniffer/)"
  if [ "$out" != "$want" ]; then
    printf 'FAIL: expected\n  %s\ngot\n  %s\n' "$want" "$out" >&2
    exit 1
  fi
  echo "self-test: the planted violation was caught"
fi

if check_tree "$root"; then
  echo "include rules hold"
else
  exit 1
fi
