#!/usr/bin/env bash
# Installs every Debian package LIPAR Studio needs to build, test and run (Debian 12).
# Runs apt-get through sudo when not root. Safe to run again.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config ccache git
    libtorch-dev libopenblas0-pthread            # LibTorch 1.13 (CPU); OpenBLAS for fast matrix products
    libgloo-dev                                  # gloo's headers: LibTorch's c10d pipeline stages (Gloo)
    libgtest-dev                                 # tests
    libspdlog-dev nlohmann-json3-dev             # logging (JSON is parsed by the engine itself)
    libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libswresample-dev ffmpeg
    libopencv-dev                                # webcam capture (V4L2 through OpenCV)
    qt6-base-dev qt6-multimedia-dev              # the desktop application
    libsentencepiece-dev sentencepiece           # prompt tokenizer (and spm_train for its tests)
    zlib1g-dev                                   # compressed PNG contact sheets (lipar eval)
    xvfb xauth                                   # GUI smoke test without a display
    iproute2                                     # ss: the stream smoke test waits for its receivers
    clang libclang-rt-14-dev                     # libFuzzer targets with ASan + UBSan (tests/fuzz)
    desktop-file-utils appstream dpkg-dev        # the .deb: validation, dpkg-shlibdeps
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "install-deps: all packages present"
fi
