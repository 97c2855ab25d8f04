#!/usr/bin/env bash
# Side-by-side CPU benchmark: vmaf-rs against libvmaf on the same machine,
# same clips, same thread counts, default model (vmaf_v0.6.1).
#
#   LIBVMAF=/path/to/libvmaf/build/tools/vmaf scripts/bench-cpu.sh [runs]
#   FEATURES="float_ssim cambi" ... scripts/bench-cpu.sh [runs]   # per feature, 1080p
#   LIBVMAF=/path/to/fork/vmaf REF_NAME=fork FEATURES="ssimulacra2 ssim" ...
#       # the lusoris/vmaf fork's features, against the fork's own tool
#
# Clips (made once into $BENCH_DIR, default target/bench): 48 frames of
# 1080p and 24 of 4K, 4:2:0 8-bit: testsrc2 with temporal noise against an
# x264 CRF 32 encode when ffmpeg is there, else the project's synthetic
# sample generator (make_sample; $MAKE_SAMPLE names a prebuilt one). Prints a table of whole-process wall
# time medians (frames/s) and peak RSS; the first run of each is a warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
dir=${BENCH_DIR:-target/bench}
ours=${VMAF_RS:-target/release/vmaf}
mkdir -p "$dir"
[ -x "$ours" ] || cargo build --release --locked -q -p vmaf-cli
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
make_pair() { # name size frames
  [ -f "$dir/$1.dis.y4m" ] && return
  if ! command -v ffmpeg >/dev/null; then
    local gen=${MAKE_SAMPLE:-}
    if [ -z "$gen" ]; then
      cargo build --release --locked -q -p vmaf --example make_sample
      gen=target/release/examples/make_sample
    fi
    "$gen" "$dir/$1" "$3" "$2" >/dev/null
    mv "$dir/$1/ref.y4m" "$dir/$1.ref.y4m"; mv "$dir/$1/dis.y4m" "$dir/$1.dis.y4m"; rmdir "$dir/$1"
    return
  fi
  ff -f lavfi -i "testsrc2=size=$2:rate=24,noise=alls=12:allf=t" -frames:v "$3" -pix_fmt yuv420p "$dir/$1.ref.y4m"
  ff -i "$dir/$1.ref.y4m" -c:v libx264 -preset veryfast -crf 32 -threads 1 "$dir/$1.mkv"
  ff -i "$dir/$1.mkv" -pix_fmt yuv420p "$dir/$1.dis.y4m"
}
n1080=${FRAMES_1080:-48}; n2160=${FRAMES_2160:-24}
make_pair b1080 1920x1080 "$n1080"
make_pair b2160 3840x2160 "$n2160"
declare -A frames=([b1080]=$n1080 [b2160]=$n2160)
all=$(nproc)
# One timed run: wall seconds and peak RSS (KB) of the child, without
# needing GNU time.
once() {
  python3 -c 'import resource,subprocess,sys,time
t=time.perf_counter(); subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,check=True)
print("%.3f %d" % (time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' "$@"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# compare LABEL CLIP THREADS [extra vmaf args...]: one pair of table rows.
compare() {
  local label=$1 clip=$2 th=$3; shift 3
  local r="$dir/$clip.ref.y4m" d="$dir/$clip.dis.y4m" n=${frames[$clip]}
  local ours_cmd=("$ours" -r "$r" -d "$d" -q --threads "$th" -o /dev/null "$@")
  local lib_cmd=("${LIBVMAF:-}" -r "$r" -d "$d" -q --threads "$th" -o /dev/null "$@")
  once "${ours_cmd[@]}" >/dev/null
  [ -n "${LIBVMAF:-}" ] && once "${lib_cmd[@]}" >/dev/null
  # Alternate the two tools so drift in the machine's speed hits both.
  local to=() tl=() mo=0 ml=0 t m
  for _ in $(seq "$runs"); do
    read -r t m < <(once "${ours_cmd[@]}"); to+=("$t"); (( m > mo )) && mo=$m
    if [ -n "${LIBVMAF:-}" ]; then
      read -r t m < <(once "${lib_cmd[@]}"); tl+=("$t"); (( m > ml )) && ml=$m
    fi
  done
  local so sl
  so=$(printf '%s\n' "${to[@]}" | median)
  printf '| %s | %s | %s | vmaf-rs | %s | %.1f | %d | |\n' "$label" "$clip" "$th" "$so" "$(awk "BEGIN{print $n / $so}")" $((mo / 1024))
  if [ -n "${LIBVMAF:-}" ]; then
    sl=$(printf '%s\n' "${tl[@]}" | median)
    printf '| %s | %s | %s | %s | %s | %.1f | %d | %.2fx |\n' "$label" "$clip" "$th" "${REF_NAME:-libvmaf}" "$sl" "$(awk "BEGIN{print $n / $sl}")" $((ml / 1024)) "$(awk "BEGIN{print $sl / $so}")"
  fi
}
printf '| what | clip | threads | tool | median s | frames/s | peak RSS MB | speed-up |\n|---|---|---|---|---|---|---|---|\n'
if [ -n "${FEATURES:-}" ]; then
  # One feature at a time (no model), 1080p: FEATURES="float_ssim cambi ..."
  for f in $FEATURES; do
    for th in ${THREADS:-1 $all}; do compare "$f" b1080 "$th" -n --feature "$f"; done
  done
else
  for clip in b1080 b2160; do
    for th in ${THREADS:-1 $all}; do compare vmaf_v0.6.1 "$clip" "$th"; done
  done
fi
