#!/usr/bin/env bash
# `lipar edit --stream` to receivers on the loopback interface (ffmpeg receiving UDP and SRT as
# MPEG-TS, and serving RTMP): frames arrive with the edit's size and rate. A target that refuses
# the connection, and a receiver that goes away mid-stream, are reported and the edit and its file
# go on.
set -euo pipefail
build="${LIPAR_BUILD_DIR:?}"; shared="${LIPAR_SHARED_DIR:?}"
lipar="$build/app/lipar"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "needs ffmpeg"; exit 77; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$lipar" pack init-random --config tiny --out "$work/pack" --seed 1 >/dev/null
clip="$shared/data/clips/dog_grass_832x480.mp4"   # 16 fps
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_listening() {  # wait_listening PORT udp|tcp
    local flag=-ltn; [ "$2" = udp ] && flag=-lun
    for _ in $(seq 200); do ss $flag 2>/dev/null | grep -qE "(127.0.0.1|0.0.0.0|\*|\[::\]):$1 " && return 0; sleep 0.05; done
    echo "no receiver on port $1"; exit 1
}
check_stream() {  # check_stream FILE MIN_FRAMES
    local info
    info=$(ffprobe -v error -select_streams v:0 -count_frames \
        -show_entries stream=width,height,r_frame_rate,nb_read_frames -of csv=p=0 "$1")
    IFS=, read -r w h rate n <<<"$info"
    [ "$w,$h,$rate" = "128,64,16/1" ] || { echo "$1: got '$info'"; exit 1; }
    [ "$n" -ge "$2" ] || { echo "$1: only $n frames"; exit 1; }
}
edit() { "$lipar" edit "$clip" --frames 24 --size 128x64 --pack "$work/pack" "$@"; }

# UDP (MPEG-TS): the receiver listens first.
port=$(free_port)
timeout 60 ffmpeg -v error -y -i "udp://127.0.0.1:$port?timeout=30000000" -c copy -frames:v 24 "$work/udp.ts" &
rx=$!
wait_listening "$port" udp
edit --stream "udp://127.0.0.1:$port?pkt_size=1316" >"$work/udp.log" 2>&1 || { cat "$work/udp.log"; exit 1; }
wait $rx || true
check_stream "$work/udp.ts" 8
grep -q "24 frames sent" "$work/udp.log" || { cat "$work/udp.log"; exit 1; }

# SRT (MPEG-TS): the receiver is the listener, lipar the caller.
port=$(free_port)
timeout 60 ffmpeg -v error -y -i "srt://127.0.0.1:$port?mode=listener" -c copy "$work/srt.ts" &
rx=$!
wait_listening "$port" udp
edit --stream "srt://127.0.0.1:$port" >"$work/srt.log" 2>&1 || { cat "$work/srt.log"; exit 1; }
wait $rx || true
check_stream "$work/srt.ts" 16

# RTMP (FLV): ffmpeg serves, lipar publishes.
port=$(free_port)
timeout 60 ffmpeg -v error -y -listen 1 -i "rtmp://127.0.0.1:$port/live/test" -c copy "$work/rtmp.flv" &
rx=$!
wait_listening "$port" tcp
edit --stream "rtmp://127.0.0.1:$port/live/test" >"$work/rtmp.log" 2>&1 || { cat "$work/rtmp.log"; exit 1; }
wait $rx || true
check_stream "$work/rtmp.flv" 16

# A refused connection: reported, the file is still written whole.
port=$(free_port)
edit -o "$work/file.mp4" --stream "rtmp://127.0.0.1:$port/live/none" >"$work/refused.log" 2>&1 ||
    { echo "a refused stream failed the edit"; cat "$work/refused.log"; exit 1; }
grep -q "cannot reach the stream target" "$work/refused.log" || { cat "$work/refused.log"; exit 1; }
n=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$work/file.mp4")
[ "$n" = 24 ] || { echo "file has $n frames"; exit 1; }

# A receiver that goes away after a few frames: the edit goes on and finishes its file.
port=$(free_port)
timeout 60 ffmpeg -v error -listen 1 -i "rtmp://127.0.0.1:$port/live/x" -frames:v 3 -f null - &
rx=$!
wait_listening "$port" tcp
"$lipar" edit "$shared/data/clips/chaplin.mp4" --frames 240 --size 128x64 --pack "$work/pack" \
    -o "$work/long.mp4" --stream "rtmp://127.0.0.1:$port/live/x" >"$work/gone.log" 2>&1 ||
    { echo "a vanished receiver failed the edit"; cat "$work/gone.log"; exit 1; }
wait $rx || true
n=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$work/long.mp4")
[ "$n" = 240 ] || { echo "file has $n frames"; exit 1; }
grep -q "stopped: " "$work/gone.log" || { echo "the broken stream was not reported"; cat "$work/gone.log"; exit 1; }
echo "cli stream smoke test passed"
