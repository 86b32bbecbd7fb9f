#!/usr/bin/env bash
# Installs what the compat suites (tests/compat) need beyond the system packages: the npm
# packages of tests/compat/package.json (@aws-sdk/client-cognito-identity, -sync and -identity-provider,
# aws-sdk v2, amazon-cognito-js, amazon-cognito-identity-js, aws-amplify, openid-client, puppeteer-core: the
# hosted-UI and console browser tests drive Debian's chromium with it) into
# tests/compat/node_modules, from package-lock.json. Does nothing when
# they are already there. boto3 comes from the Python environment (checked, not installed).
# Called by scripts/install-deps.sh; safe to run by hand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compat="$here/tests/compat"

need=(aws-sdk amazon-cognito-js @aws-sdk/client-cognito-identity @aws-sdk/client-cognito-sync
      kinesalite @aws-sdk/client-kinesis @smithy/node-http-handler
      amazon-cognito-identity-js @aws-sdk/client-cognito-identity-provider aws-amplify openid-client puppeteer-core)
missing=0
for p in "${need[@]}"; do
  [ -f "$compat/node_modules/$p/package.json" ] || missing=1
done

if [ "$missing" = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-compat-deps: npm not found; the Node compat suites will be skipped" >&2
  else
    echo "install-compat-deps: installing npm packages into tests/compat/node_modules"
    if [ -f "$compat/package-lock.json" ]; then
      (cd "$compat" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$compat" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi
fi

if ! python3 -c 'import boto3' >/dev/null 2>&1; then
  echo "install-compat-deps: python3 cannot import boto3; install it (pip install boto3) for the boto3 compat suites" >&2
fi
if ! python3 -c 'import cryptography' >/dev/null 2>&1; then
  echo "install-compat-deps: python3 cannot import cryptography (Debian: python3-cryptography); the boto3-auth suite needs it to sign test ID tokens" >&2
fi
