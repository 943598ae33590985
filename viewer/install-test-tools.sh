#!/usr/bin/env bash
# What the viewer's browser tests (tests/viewer_browser.rs) need, installed when missing:
# Debian's chromium, and playwright-core (with esbuild and three.js, for update-vendor.sh)
# at the versions of viewer/package-lock.json. With both present it only compares versions.
# Then checks that vendor/three.min.js is what the pinned three.js bundles to.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the viewer's browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
lock_version() {
  node -e "console.log(require('./package-lock.json').packages['node_modules/$1'].version)"
}
installed_version() {
  node -e "try { console.log(require('./node_modules/$1/package.json').version) } catch (e) { console.log('') }"
}
for p in playwright-core three esbuild; do
  if [ "$(lock_version $p)" != "$(installed_version $p)" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    break
  fi
done
./update-vendor.sh --check
