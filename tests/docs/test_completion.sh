#!/usr/bin/env bash
# The bash completions offer every subcommand the programs' --help lists,
# the server names of the client configuration, and the client names of the
# server configuration.
# Usage: test_completion.sh SOURCE_DIR KNOCKD KNOCK
set -uo pipefail

src=$1 knockd=$2 knock=$3
failures=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# shellcheck source=/dev/null
source "$src/conf/bash-completion/knock" || fail "cannot source the knock completion"
# shellcheck source=/dev/null
source "$src/conf/bash-completion/knockd" || fail "cannot source the knockd completion"

# Completes the words given (the last is the one being typed) and prints
# the candidates, one per line.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  "_$1"
  printf '%s\n' "${COMPREPLY[@]}"
}

expect() {  # WORD CANDIDATES... -- COMMAND WORDS...
  local want=$1
  shift
  local got
  got=$(complete_words "$@")
  grep -qxF -- "$want" <<<"$got" || fail "completing \"$*\" does not offer $want (got: $(echo $got))"
}

subcommands_of() {
  awk '/^Subcommands:/ { on = 1; next } on && /^$/ { on = 0 } on { print $1 }'
}

for sub in $("$knockd" --help | subcommands_of); do expect "$sub" knockd ""; done
for sub in $("$knock" --help | subcommands_of); do expect "$sub" knock ""; done

export HOME=$scratch XDG_CONFIG_HOME=$scratch/config
mkdir -p "$XDG_CONFIG_HOME/knock"
cp "$src/conf/knock.toml" "$XDG_CONFIG_HOME/knock/knock.toml"
printf '[server.nas-2]\nhost = "198.18.0.2"\n' >>"$XDG_CONFIG_HOME/knock/knock.toml"
expect bastion knock ""
expect nas-2 knock n
expect bastion knock proxy ""
expect --wait knock bastion --wa
expect --key-file knockd audit init --
expect grant knockd audit --event gr
expect alice-laptop knockd -c "$src/conf/knockd.toml" client-config ""
expect --pcap knockd replay --
got=$(complete_words knock -c /nonexistent "")
grep -qxF bastion <<<"$got" && fail "-c FILE is ignored: bastion offered from the default configuration"

if [ $failures -ne 0 ]; then
  echo "$failures problems"
  exit 1
fi
echo "ok: completions offer subcommands, servers and clients"
