#!/usr/bin/env bash
# Installs what Eddy needs from Debian's packages (and kafkajs from npm into
# tests/interop/node). Idempotent: installs only what is missing.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config ccache python3
      librdkafka-dev librocksdb-dev libfmt-dev libboost-dev libgtest-dev libgmock-dev
      zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
      kcat python3-kafka python3-confluent-kafka nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (they are preinstalled on some images).
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -f $root/tests/interop/node/package.json && ! -d $root/tests/interop/node/node_modules/kafkajs ]]; then
  (cd "$root/tests/interop/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
