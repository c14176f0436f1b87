#!/usr/bin/env bash
# The man pages are lint-clean and complete: every subcommand and option the
# programs' --help prints, every configuration key the parsers accept (their
# CheckKeys tables) or the example configurations use, every exit status and
# every signal appears in its page, and the example configurations load.
# Usage: test_man_pages.sh SOURCE_DIR KNOCKD KNOCK
# MAN_DIR overrides SOURCE_DIR/man (to show that the test can fail).
set -uo pipefail

src=$1 knockd=$2 knock=$3
man_dir=${MAN_DIR:-$src/man}
failures=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# The page as plain text, one long line per paragraph.
render() {
  MANWIDTH=1000 mandoc -Tascii -Owidth=1000 "$1" 2>/dev/null | col -b
}

# The terms a page documents: the first word of every .TP tag and the names
# of its sections, with roff escapes undone ("[service.NAME]" -> "service").
documented_terms() {
  awk '
    function clean(s) {
      gsub(/\\-/, "-", s); gsub(/\\\(dq/, "\"", s); gsub(/\\f[BIRP]/, "", s)
      gsub(/"/, "", s)
      return s
    }
    # "SIGTERM, SIGINT": each comma-separated alternative is a term.
    tag {
      sub(/^\.[A-Z]+ */, ""); n = split(clean($0), alt, /, */)
      for (i = 1; i <= n; i++) { split(alt[i], w, / +/); print w[1] }
      tag = 0; next
    }
    /^\.TP/ { tag = 1; next }
    /^\.SH / { sub(/^\.SH /, ""); s = clean($0); gsub(/[][]/, "", s); sub(/\..*/, "", s); print s }
  ' "$1"
}

# Both read whole files: grep -q on a pipe would cut the writer off, and
# pipefail would report that as a miss.
# Each page is rendered once, into $scratch/PAGE.terms and PAGE.text.
has_term() {  # TERM PAGE
  local cache=$scratch/${2##*/}.terms
  [ -f "$cache" ] || documented_terms "$2" >"$cache"
  grep -qxF -- "$1" "$cache"
}

has_word() {  # WORD PAGE
  local cache=$scratch/${2##*/}.text pattern=${1//./\\.}
  [ -f "$cache" ] || render "$2" >"$cache"
  grep -qE -- "(^|[^A-Za-z0-9_-])$pattern([^A-Za-z0-9_-]|$)" "$cache"
}

# Subcommands: the first word of each line under "Subcommands:".
subcommands_of() {
  awk '/^Subcommands:/ { on = 1; next } on && /^$/ { on = 0 } on { print $1 }'
}

# Options: every -x and --long-name the text shows.
options_of() {
  grep -oE -- '(^|[][ ,|(])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^[][ ,|(]//' | sort -u
}

# Exit statuses: the digits of "Exit status: 0 ..., 1 ..., 2 ...".
statuses_of() {
  tr '\n' ' ' | sed -n 's/.*Exit status:\(.*\)/\1/p' | grep -oE '(^|, | )[0-9] ' | tr -dc '0-9\n ' | tr -s ' ' '\n' | grep -E '^[0-9]$' | sort -u
}

# CheckKeys({"a", "b", ...}) tables of one parser source file.
parser_keys() {
  awk '/CheckKeys\(/ { on = 1 } on { print } on && /\}\)/ { on = 0 }' "$1" |
    grep -oE '"[a-z_]+"' | tr -d '"' | sort -u
}

# Keys an example configuration sets or shows commented out.
example_keys() {
  sed -nE 's/^#? ?([a-z_]+) = .*/\1/p' "$1" | sort -u
}

# 1. Lint.
for page in knockd.8 knock.1 knockd.toml.5 knock.toml.5; do
  path=$man_dir/$page
  if [ ! -f "$path" ]; then
    fail "$page: missing"
    continue
  fi
  lint=$(mandoc -Tlint "$path" 2>&1)
  [ -z "$lint" ] || fail "$page: mandoc -Tlint: $lint"
  lint=$(groff -ww -z -man "$path" 2>&1)
  [ -z "$lint" ] || fail "$page: groff -ww: $lint"
done

# 2. Commands and options of knockd.
help=$("$knockd" --help) || fail "knockd --help exited non-zero"
for sub in $(printf '%s\n' "$help" | subcommands_of); do
  has_term "$sub" "$man_dir/knockd.8" || fail "knockd.8: subcommand $sub has no entry"
  sub_help=$("$knockd" "$sub" --help) || fail "knockd $sub --help exited non-zero"
  for option in $(printf '%s\n' "$sub_help" | options_of); do
    has_word "$option" "$man_dir/knockd.8" || fail "knockd.8: option $option (knockd $sub --help) missing"
  done
done
for option in $(printf '%s\n' "$help" | options_of); do
  has_word "$option" "$man_dir/knockd.8" || fail "knockd.8: option $option (knockd --help) missing"
done
for status in $(printf '%s\n' "$help" | statuses_of); do
  has_term "$status" "$man_dir/knockd.8" || fail "knockd.8: exit status $status has no entry"
done
for signal in $("$knockd" run --help | grep -oE 'SIG[A-Z]+' | sort -u); do
  has_term "$signal" "$man_dir/knockd.8" || fail "knockd.8: signal $signal has no entry"
done

# 3. Commands and options of knock.
help=$("$knock" --help) || fail "knock --help exited non-zero"
for sub in $(printf '%s\n' "$help" | subcommands_of); do
  has_term "$sub" "$man_dir/knock.1" || fail "knock.1: subcommand $sub has no entry"
  sub_help=$("$knock" "$sub" --help) || fail "knock $sub --help exited non-zero"
  for option in $(printf '%s\n' "$sub_help" | options_of); do
    has_word "$option" "$man_dir/knock.1" || fail "knock.1: option $option (knock $sub --help) missing"
  done
done
for option in $(printf '%s\n' "$help" | options_of); do
  has_word "$option" "$man_dir/knock.1" || fail "knock.1: option $option (knock --help) missing"
done
for status in $(printf '%s\n' "$help" | statuses_of); do
  has_term "$status" "$man_dir/knock.1" || fail "knock.1: exit status $status has no entry"
done

# 4. Configuration keys: the parsers' tables and the examples.
server_keys=$( (parser_keys "$src/knockd/shared/server_config.cc"; example_keys "$src/conf/knockd.toml") | sort -u)
client_keys=$( (parser_keys "$src/knock/lib/client_config.cc"; example_keys "$src/conf/knock.toml") | sort -u)
[ "$(echo "$server_keys" | wc -l)" -ge 20 ] || fail "found only $(echo "$server_keys" | wc -l) server keys: is CheckKeys still the parser's table?"
[ "$(echo "$client_keys" | wc -l)" -ge 8 ] || fail "found only $(echo "$client_keys" | wc -l) client keys: is CheckKeys still the parser's table?"
for key in $server_keys; do
  has_term "$key" "$man_dir/knockd.toml.5" || fail "knockd.toml.5: configuration key $key has no entry"
done
for key in $client_keys; do
  has_term "$key" "$man_dir/knock.toml.5" || fail "knock.toml.5: configuration key $key has no entry"
done

# 5. Files.
for file in /etc/knockd/knockd.toml /etc/knockd/server.key /var/lib/knockd/used-sequences; do
  has_word "$file" "$man_dir/knockd.8" || fail "knockd.8: file $file missing"
done
for file in '~/.config/knock/knock.toml' '~/.config/knock/private.key' XDG_STATE_HOME; do
  has_word "$file" "$man_dir/knock.1" || fail "knock.1: $file missing"
done

# 6. The example configurations load.
out=$("$knockd" -c "$src/conf/knockd.toml" check 2>&1) || fail "knockd check conf/knockd.toml: $out"
mkdir -p "$scratch/home"
if HOME=$scratch/home XDG_CONFIG_HOME= XDG_STATE_HOME=$scratch/state \
  "$knock" -c "$src/conf/knock.toml" init >/dev/null 2>&1; then
  out=$(HOME=$scratch/home XDG_CONFIG_HOME= XDG_STATE_HOME=$scratch/state \
    "$knock" -c "$src/conf/knock.toml" --dry-run bastion 2>&1) ||
    fail "knock --dry-run with conf/knock.toml: $out"
else
  fail "knock init with conf/knock.toml failed"
fi

if [ $failures -ne 0 ]; then
  echo "$failures problems"
  exit 1
fi
echo "ok: man pages lint-clean and complete"
