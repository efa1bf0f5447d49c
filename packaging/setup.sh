#!/usr/bin/env bash
# One command from a fresh clone to a built LIPAR Studio: installs the Debian packages, configures
# and builds everything into build/ (Release, ccache, precompiled headers).
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
# ccache: paths relative to the checkout so that any clone reuses earlier compilations.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
cmake --preset default
cmake --build --preset default
# A seeded random (UNTRAINED) pack so that the app and the CLI run out of the box; replace it with
# a real pack (packaging/download-models.sh) for meaningful edits.
if [ ! -f build/packs/default/manifest.json ]; then
    ./build/app/lipar pack init-random --config tiny --out build/packs/default --seed 0 >/dev/null
    echo "setup: created the default (untrained) model pack in build/packs/default"
fi
