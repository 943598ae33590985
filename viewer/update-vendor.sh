#!/usr/bin/env bash
# Refreshes vendor/three.min.js and vendor/three.LICENSE from the three.js pinned in
# package.json / package-lock.json: `npm ci`, then esbuild bundles three-entry.js (only what
# the page uses, minified, one IIFE that defines the global THREE). Commit both files: the
# Rust build embeds them with include_str!, so `cargo build` never needs node.
# To move to another three.js: `npm install --save-exact three@X.Y.Z`, then run this script.
# `--check` (CI): bundle again without installing and fail if vendor/ differs from it.
set -euo pipefail
cd "$(dirname "$0")"
check=false
if [ "${1:-}" = "--check" ]; then check=true; fi
$check || npm ci --no-audit --no-fund
version=$(node -p "JSON.parse(require('fs').readFileSync('node_modules/three/package.json')).version")
out=vendor/three.min.js
if $check; then out=$(mktemp); trap 'rm -f "$out"' EXIT; fi
node_modules/.bin/esbuild three-entry.js --bundle --format=iife --global-name=THREE \
  --minify --legal-comments=none --target=es2020 --log-level=warning \
  --banner:js="/* three.js ${version} (MIT licence, vendor/three.LICENSE), bundled by viewer/update-vendor.sh */" \
  --outfile="$out"
if $check; then
  if ! cmp -s "$out" vendor/three.min.js || ! cmp -s node_modules/three/LICENSE vendor/three.LICENSE; then
    echo "viewer/vendor/ is not what three.js ${version} bundles to: run viewer/update-vendor.sh and commit" >&2
    exit 1
  fi
  echo "viewer/vendor/three.min.js: three.js ${version}, up to date"
  exit 0
fi
cp node_modules/three/LICENSE vendor/three.LICENSE
if grep -qi '</script' vendor/three.min.js; then
  echo "vendor/three.min.js contains '</script': the page embedding must escape it" >&2
fi
echo "vendor/three.min.js: three.js ${version}, $(wc -c < vendor/three.min.js) bytes"
