#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, from Debian 12
# packages only. Safe to run again; skips apt when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev libpcap-dev libtomlplusplus-dev libnftables-dev
  libseccomp-dev  # the sniffer's syscall filter (common/seccomp_filter.cc)
  catch2 nlohmann-json3-dev
  clang libclang-rt-14-dev  # the fuzz targets (scripts/fuzz.sh)
  nftables iproute2 tcpdump procps psmisc netcat-openbsd
  mandoc groff-base dpkg-dev
  openssh-server openssh-client
  # What a minbase Debian 12 lacks and the tests use: col (the man page
  # test), file (CPack's shlibdeps), /usr/bin/time (the bench smoke run),
  # systemd-analyze (the package test), /etc/protocols (nft prints names).
  bsdextrautils file time systemd netbase
  # The real-systemd package test (tests/package/test_systemd.sh) and
  # scripts/fresh-check.sh: a Debian root made by debootstrap, booted by
  # systemd-nspawn.
  debootstrap systemd-container
  # The metrics e2e test: node_exporter serves knockd's textfile, curl reads it.
  prometheus-node-exporter curl
  # The bound-knock vectors' independent generator (tests/data/make_bound_vectors.py).
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The unprivileged account knockd's packet sniffer runs as (`user` in
# knockd.toml; the Debian package's postinst creates it the same way).
if ! id knockd >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin knockd
fi
