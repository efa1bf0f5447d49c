#!/usr/bin/env bash
# One command from a fresh clone to a built LIPAR Studio: installs the Debian packages, configures
# and builds everything into build/ (Release, ccache, precompiled headers).
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
cmake --preset default
cmake --build --preset default
