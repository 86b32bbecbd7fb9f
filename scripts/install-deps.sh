#!/usr/bin/env bash
# Installs the Debian packages Tether needs to build, test and run, skipping what is already
# there. Idempotent; safe to run on every `make`. Needs root (or sudo) only when something is
# missing.
set -euo pipefail

PACKAGES=(
  meson ninja-build pkg-config g++ openssl
  libsqlite3-dev libwebsockets-dev capnproto libcapnp-dev libboost-dev libssl-dev
  libpq-dev postgresql
  libcurl4-openssl-dev         # outgoing HTTP(S) and HTTP/2: trigger webhooks, stream sinks, APNs/FCM
  libargon2-dev                # console operator passwords: Argon2id (issue 17)
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  python3 python3-cryptography nodejs
  haproxy                    # the scale-out tests run the deployment's HAProxy config
  libqrencode-dev            # the hosted UI's TOTP set-up page draws a QR code (optional at build time)
  chromium                   # the hosted-UI and console browser tests drive it headless (npm puppeteer-core)
  cmake groff-base systemd   # the install suite: a find_package(tether) app, man pages, systemd-analyze verify
)
# `scripts/install-deps.sh fuzz` (make fuzz): libFuzzer and clang's ASan/UBSan runtimes too.
if [ "${1:-}" = "fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ${#missing[@]} -eq 0 ]; then
  exec "$here/install-compat-deps.sh"
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/tether-apt.XXXXXX.log)
if ! { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -20 "$log" >&2
  echo "install-deps: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
exec "$here/install-compat-deps.sh"
