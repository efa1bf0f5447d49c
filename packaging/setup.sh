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
# The default model pack is Nano, LIPAR Studio's own trained pack (resources/packs/nano): the app
# and the CLI edit out of the box on a CPU. A seeded random (untrained) pack stays available for
# tests and benchmarks in build/packs/tiny-random.
mkdir -p build/packs
if [ -L build/packs/default ] || [ ! -e build/packs/default ] ||
   grep -q '"untrained": true' build/packs/default/manifest.json 2>/dev/null; then
    rm -rf build/packs/default
    ln -s ../../resources/packs/nano build/packs/default
    echo "setup: build/packs/default is the trained Nano pack (resources/packs/nano)"
fi
if [ ! -f build/packs/tiny-random/manifest.json ]; then
    ./build/app/lipar pack init-random --config tiny --out build/packs/tiny-random --seed 0 >/dev/null
fi
