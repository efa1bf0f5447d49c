#!/usr/bin/env bash
# packaging/download-models.sh against a local mirror: files copied, hashes checked (pinned and
# recorded-on-first-use), a corrupted mirror copy refused, the manifest written and readable.
set -euo pipefail
src="${LIPAR_SOURCE_DIR:?}"; build="${LIPAR_BUILD_DIR:?}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mirror"
for f in self_forcing_dmd.pt taew2_1.pth models_t5_umt5-xxl-enc-bf16.pth spiece.model; do
    printf 'content of %s\n' "$f" >"$work/mirror/$f"
done
# pin one hash, leave the rest unpinned
pinned=$(sha256sum "$work/mirror/taew2_1.pth" | cut -d' ' -f1)
sed "s/^unpinned  taew2_1.pth/$pinned  taew2_1.pth/" "$src/packaging/models.sha256" >"$work/sums"
"$src/packaging/download-models.sh" --dest "$work/pack" --mirror "$work/mirror" --checksums "$work/sums"
for f in self_forcing_dmd.pt taew2_1.pth models_t5_umt5-xxl-enc-bf16.pth spiece.model; do
    cmp "$work/mirror/$f" "$work/pack/$f"
done
[ "$(wc -l <"$work/pack/SHA256SUMS")" -eq 3 ] || { echo "expected 3 recorded hashes"; exit 1; }
info=$("$build/app/lipar" info "$work/pack" --no-load)
grep -q "self-forcing-wan2.1-1.3b" <<<"$info"
# second run verifies what is there
again=$("$src/packaging/download-models.sh" --dest "$work/pack" --mirror "$work/mirror" --checksums "$work/sums")
grep -q "present, verifying" <<<"$again"
# a corrupted pinned file is refused and deleted
rm "$work/pack/taew2_1.pth"; echo corrupted >"$work/mirror/taew2_1.pth"
if "$src/packaging/download-models.sh" --dest "$work/pack" --mirror "$work/mirror" --checksums "$work/sums" 2>"$work/err"; then
    echo "a corrupted file was accepted"; exit 1
fi
grep -q "taew2_1.pth has sha256" "$work/err"; [ ! -f "$work/pack/taew2_1.pth" ]
# a corrupted unpinned file is refused against the recorded hash
rm "$work/pack/spiece.model"; echo changed >"$work/mirror/spiece.model"
if "$src/packaging/download-models.sh" --dest "$work/pack" --mirror "$work/mirror" --checksums "$work/sums" 2>/dev/null; then
    echo "a changed unpinned file was accepted"; exit 1
fi
echo "download-models smoke test passed"
