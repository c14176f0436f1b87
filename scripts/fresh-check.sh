#!/usr/bin/env bash
# The README test command on a really fresh machine: a Debian 12 minbase
# root (debootstrap, nothing else installed; cached), a clean clone of this
# repository's committed HEAD in it, entered with pivot_root in a private
# mount namespace (not a chroot: `ip netns exec` remounts /sys under / and
# /proc/PID/root must read as on a machine), where `.ci/run` runs as root.
# Whatever a minbase machine lacks and the tests use shows up as a failure
# here; scripts/install-deps.sh must install it. Not called by .ci/run
# (which it runs); run it before every stop that changes dependencies.
#
# Usage: scripts/fresh-check.sh [--quick]   (as root; --quick sets
#   KNOCK_QUICK=1: the first ctest pass only, no sanitizer or fuzz runs)
# FRESH_CACHE (default build/fresh-check) keeps the root tarball, the .debs
# apt downloads in the root, and the container root of the systemd test, so
# that a rerun downloads nothing again; every run still starts from the
# pristine minbase root and installs everything itself.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/fresh-check.sh [--quick]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: debootstrap, mount namespaces and the tests need it" >&2
  exit 1
fi
for tool in debootstrap unshare git; do
  command -v "$tool" >/dev/null || { echo "fresh-check: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

cache=${FRESH_CACHE:-$repo/build/fresh-check}
mkdir -p "$cache/apt-archives/partial" "$cache/package-cache"
tarball=$(scripts/debian-root.sh "$cache")

work=$(mktemp -d /var/tmp/knock-fresh.XXXXXX)
root=$work/root
cleanup() {
  local rc=$?
  # The namespace's mounts die with it; this is for an interrupted setup.
  set +e
  findmnt -rn -o TARGET | grep -F "$work/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$root"
tar -C "$root" -xf "$tarball"
head=$(git rev-parse HEAD)
git clone --quiet --no-local "$repo" "$root/root/knock"
git -C "$root/root/knock" checkout --quiet --detach "$head"
mkdir -p "$root/root/knock/build/package-cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "fresh-check: $head in a minbase root at $root (log: $work/run.log)"

start=$SECONDS
set +e
unshare --mount --propagation private -- bash -s "$root" "$cache" "$quick" <<'INNER' 2>&1 | tee "$work/run.log"
set -euo pipefail
root=$1 cache=$2 quick=$3
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mkdir -p "$root/run/lock"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mount --bind "$cache/package-cache" "$root/root/knock/build/package-cache"
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TERM=dumb LANG=C.UTF-8 KNOCK_QUICK="$quick" \
  bash -c 'cd /root/knock && exec .ci/run'
INNER
rc=${PIPESTATUS[0]}
set -e
echo "fresh-check: .ci/run exited $rc after $((SECONDS - start)) s"
[ "$rc" -eq 0 ] || cp "$work/run.log" "$cache/last-failed-run.log"
exit "$rc"
