#!/usr/bin/env bash
# Builds a release of signl4-sentinel into dist/: the binary (x86_64 Linux, glibc), its SHA-256,
# and a CycloneDX SBOM of what is linked into it (scripts/sbom.py). The git revision is built in
# (--version, s4s_build_info). Refuses a work tree with uncommitted changes unless --dirty.
# The binary keeps the `demo` and `emulator` commands (the README's first run); --no-demo builds
# it without them and without the built-in fake cloud (cargo feature `demo` off).
#
#   scripts/release.sh [--dirty] [--no-demo]
set -euo pipefail
cd "$(dirname "$0")/.."
DIRTY=0
FEATURES=()
for a in "$@"; do case "$a" in
  --dirty) DIRTY=1 ;;
  --no-demo) FEATURES=(--no-default-features) ;;
  *) echo "unknown argument: $a" >&2; exit 2 ;;
esac; done
if [ "$DIRTY" = 0 ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "uncommitted changes: commit them, or pass --dirty" >&2; exit 1
fi
VERSION=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "signl4-sentinel"))')
REV=$(git rev-parse --short=12 HEAD)
NAME="signl4-sentinel-$VERSION-x86_64-linux-gnu"
S4S_BUILD_REVISION=$REV cargo build --release --locked -p signl4-sentinel --bin signl4-sentinel "${FEATURES[@]}"
mkdir -p dist
install -m 0755 target/release/signl4-sentinel "dist/$NAME"
python3 scripts/sbom.py "${FEATURES[@]}" "dist/$NAME.cdx.json"
(cd dist && sha256sum "$NAME" "$NAME.cdx.json" > "$NAME.sha256")
"dist/$NAME" --version
echo "dist/$NAME, dist/$NAME.cdx.json (SBOM), dist/$NAME.sha256"
