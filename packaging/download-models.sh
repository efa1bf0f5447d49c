#!/usr/bin/env bash
# Fetches the published weights of the "self-forcing-wan2.1-1.3b" model pack (Self-Forcing DMD DiT,
# TAEHV taew2_1, UMT5-XXL encoder + tokenizer) into a pack directory and writes its manifest.json.
#
#   packaging/download-models.sh [--dest DIR] [--mirror DIR] [--checksums FILE]
#
#   --dest DIR       pack directory (default: build/packs/self-forcing-wan2.1-1.3b)
#   --mirror DIR     take the files from a local directory (same file names) instead of the network
#   --checksums FILE expected hashes (default: packaging/models.sha256)
#
# Every file is checked against its pinned SHA-256, or, when unpinned, against the hash recorded in
# DEST/SHA256SUMS by an earlier download (recorded on first use). A mismatch deletes the file and
# fails. Interrupted downloads resume (curl -C -); nothing half-written is ever used.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../build/packs/self-forcing-wan2.1-1.3b"
mirror=""
checksums="$here/models.sha256"
while [ $# -gt 0 ]; do
    case "$1" in
        --dest) dest="$2"; shift 2 ;;
        --mirror) mirror="$2"; shift 2 ;;
        --checksums) checksums="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "download-models: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -f "$checksums" ] || { echo "download-models: checksum list $checksums not found" >&2; exit 1; }
[ -z "$mirror" ] || [ -d "$mirror" ] || { echo "download-models: mirror $mirror is not a directory" >&2; exit 1; }
mkdir -p "$dest"
record="$dest/SHA256SUMS"
touch "$record"

fetch() {  # fetch NAME URL -> $dest/NAME.part
    local name="$1" url="$2"
    if [ -n "$mirror" ]; then
        [ -f "$mirror/$name" ] || { echo "download-models: $name is not in the mirror $mirror" >&2; return 1; }
        cp "$mirror/$name" "$dest/$name.part"
    elif command -v curl >/dev/null; then
        curl -fL --retry 3 -C - -o "$dest/$name.part" "$url"
    elif command -v wget >/dev/null; then
        wget -c -O "$dest/$name.part" "$url"
    else
        echo "download-models: need curl or wget (or --mirror DIR)" >&2; return 1
    fi
}

status=0
while read -r hash name url; do
    case "$hash" in ''|\#*) continue ;; esac
    if [ -f "$dest/$name" ]; then
        echo "download-models: $name present, verifying"
    else
        echo "download-models: fetching $name"
        fetch "$name" "$url" || { status=1; continue; }
        mv "$dest/$name.part" "$dest/$name"
    fi
    got=$(sha256sum "$dest/$name" | cut -d' ' -f1)
    expected="$hash"
    if [ "$hash" = "unpinned" ]; then
        expected=$(awk -v n="$name" '$2 == n {print $1}' "$record")
    fi
    if [ -z "$expected" ]; then
        echo "$got  $name" >>"$record"
        echo "download-models: $name sha256 $got (unpinned: recorded for later checks)"
    elif [ "$got" != "$expected" ]; then
        echo "download-models: $name has sha256 $got, expected $expected: deleted" >&2
        rm -f "$dest/$name"
        status=1
    else
        echo "download-models: $name ok"
    fi
done <"$checksums"
[ $status -eq 0 ] || { echo "download-models: failed; run again to resume" >&2; exit 1; }

cat >"$dest/manifest.json" <<'JSON'
{
  "name": "self-forcing-wan2.1-1.3b",
  "description": "Self-Forcing DMD (Wan2.1-T2V-1.3B architecture, generator_ema), TAEHV taew2_1, UMT5-XXL",
  "untrained": false,
  "dit": {"weights": "self_forcing_dmd.pt", "select": "generator_ema", "head_dim": 128},
  "autoencoder": {"kind": "taehv", "weights": "taew2_1.pth"},
  "text": {"kind": "umt5", "weights": "models_t5_umt5-xxl-enc-bf16.pth", "tokenizer": "spiece.model", "text_len": 512},
  "schedule": {"shift": 5.0, "steps": [400, 350, 250], "frames_per_block": 3},
  "resolution": {"width": 832, "height": 480, "multiple": 16}
}
JSON
echo "download-models: pack ready in $dest (use: lipar info $dest, or --pack $dest)"
