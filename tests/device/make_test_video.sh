#!/bin/sh
# Makes the device's test video from the sample faces (tests/data/faces) with
# the ffmpeg CLI: 640x480, 15 fps, 7 s, mpeg4 in MP4.
#   0.0-0.5 s  background only
#   0.5-3.5 s  person A (Al_Pacino_0001) walks right and grows (a face that
#              moves and scales between frames keeps one track)
#   3.0-6.0 s  person B (Alan_Greenspan_0001) on the right, drifting left
#              (half a second together with A: two tracks at once)
#   6.0-7.0 s  background only
# Usage: make_test_video.sh OUT.mp4 [FACES_DIR]. Exit 77 without ffmpeg (a
# test skips); an existing OUT newer than this script is kept.
set -eu
out=$1
faces=${2:-$(dirname "$0")/../data/faces/lfw}
command -v ffmpeg >/dev/null 2>&1 || { echo "make_test_video: ffmpeg not installed" >&2; exit 77; }
if [ -s "$out" ] && [ "$out" -nt "$0" ]; then
	exit 0
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$.mp4"
trap 'rm -f "$tmp"' EXIT
ffmpeg -nostdin -loglevel error -y \
	-f lavfi -i "color=c=0x5a6e7c:s=640x480:r=15:d=7" \
	-loop 1 -framerate 15 -t 7 -i "$faces/Al_Pacino/Al_Pacino_0001.jpg" \
	-loop 1 -framerate 15 -t 7 -i "$faces/Alan_Greenspan/Alan_Greenspan_0001.jpg" \
	-filter_complex "\
[0:v]noise=alls=8:allf=u[bg];\
[1:v]scale=w='170+30*t':h=-2:eval=frame[a];\
[2:v]scale=200:200[b];\
[bg][a]overlay=x='20+60*t':y=90:enable='between(t,0.5,3.5)'[ba];\
[ba][b]overlay=x='420-10*(t-3)':y=150:enable='between(t,3,6)',format=yuv420p[v]" \
	-map "[v]" -c:v mpeg4 -q:v 3 -r 15 -t 7 "$tmp"
mv "$tmp" "$out"
trap - EXIT
