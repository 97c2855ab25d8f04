#!/usr/bin/env bash
# Builds the CUDA device check (crates/vmaf-cuda/examples/device_check.rs)
# here, where there is no GPU, and packs it with short cuts of the test
# clips into .device-carry/ (git-ignored, under the 64 MiB a device run may
# carry). Prints the command to run on the GPU machine.
#
#   scripts/device-check.sh            # with fault injection (default)
#   scripts/device-check.sh --no-fault # the plain build
#   scripts/device-check.sh --mock     # also run it here on the mock driver
#
# --mock runs the packed binary against crates/vmaf-cuda/mock (a host-only
# stand-in for libcuda and NVRTC): it checks the plumbing, not the GPU.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

features=(--features fault-injection)
mock=0
for a in "$@"; do
    case $a in
    --no-fault) features=() ;;
    --mock) mock=1 ;;
    *) echo "usage: $0 [--no-fault] [--mock]" >&2; exit 2 ;;
    esac
done

carry=.device-carry
if ! git check-ignore -q "$carry/x"; then
    echo "$carry/ is not git-ignored; add it to .gitignore or .git/info/exclude" >&2
    exit 1
fi

cargo build --release --example device_check -p vmaf-cuda "${features[@]}"
# The CLI, for the end-to-end rows (a separate build: with --example, cargo
# would not build the binary).
cargo build --release -p vmaf-cli

rm -rf "$carry"
mkdir -p "$carry/clips"
cp "$CARGO_TARGET_DIR/release/examples/device_check" "$CARGO_TARGET_DIR/release/vmaf" "$carry/"
# libvmaf's own `vmaf`, built outside the repo from the fetched source
# (LIBVMAF=path), for the side-by-side rows.
libvmaf=${LIBVMAF:-/work/ref/build-libvmaf/tools/vmaf}
extra=()
if [[ -x $libvmaf ]]; then
    cp "$libvmaf" "$carry/libvmaf"
    extra=(--libvmaf "$carry/libvmaf")
fi
strip "$carry/device_check" "$carry/vmaf" 2>/dev/null || true

# Bytes of one frame of a Y4M stream, from its header line.
frame_bytes() {
    local hdr=$1 w h c bps=1 planes
    w=$(sed -n 's/.* W\([0-9]*\).*/\1/p' <<<"$hdr")
    h=$(sed -n 's/.* H\([0-9]*\).*/\1/p' <<<"$hdr")
    c=$(sed -n 's/.* C\([0-9a-z]*\).*/\1/p' <<<"$hdr")
    c=${c:-420jpeg}
    case $c in *p10 | *p12 | *p14 | *p16) bps=2 ;; esac
    local cw=$(((w + 1) / 2)) ch=$(((h + 1) / 2))
    case $c in
    mono*) planes=$((w * h)) ;;
    444*) planes=$((3 * w * h)) ;;
    422*) planes=$((w * h + 2 * cw * h)) ;;
    *) planes=$((w * h + 2 * cw * ch)) ;;
    esac
    echo $((planes * bps))
}

# The first $2 frames of Y4M file $1, into $3 (assumes bare FRAME lines).
cut_y4m() {
    local src=$1 n=$2 dst=$3 hdr fb hlen size
    hdr=$(head -n1 "$src")
    hlen=$((${#hdr} + 1))
    fb=$(frame_bytes "$hdr")
    size=$(stat -c %s "$src")
    if (((size - hlen) % (fb + 6) != 0)); then
        echo "cannot cut $src (frame lines with parameters?)" >&2
        return 1
    fi
    head -c $((hlen + n * (fb + 6))) "$src" >"$dst"
}

clips=${VMAF_CLIPS_DIR:-$root/clips}
budget=$((60 * 1024 * 1024 - $(du -sb "$carry" | cut -f1)))
for ref in "$clips"/*.ref.y4m; do
    pair=$(basename "$ref" .ref.y4m)
    dis=$clips/$pair.dis.y4m
    [[ -f $dis ]] || continue
    hdr=$(head -n1 "$ref")
    fb=$(frame_bytes "$hdr")
    # Four frames of the small clips, fewer of the large ones.
    n=4
    ((fb > 1000000)) && n=2
    ((fb > 2000000)) && n=1
    need=$((2 * n * (fb + 6)))
    if ((need > budget)); then
        echo "skipping $pair: over the carry budget" >&2
        continue
    fi
    cut_y4m "$ref" $n "$carry/clips/$pair.ref.y4m" && cut_y4m "$dis" $n "$carry/clips/$pair.dis.y4m" || {
        rm -f "$carry/clips/$pair".*.y4m
        continue
    }
    budget=$((budget - need))
done

total=$(du -sb "$carry" | cut -f1)
echo "packed $carry: $((total / 1024 / 1024)) MiB, $(ls "$carry/clips" | wc -l) clip files" >&2

if ((mock)); then
    mockdir=$CARGO_TARGET_DIR/mock-cuda
    mkdir -p "$mockdir/driver" "$mockdir/nvrtc"
    cc -O2 -Wall -Wextra -shared -fPIC -o "$mockdir/driver/libcuda.so.1" crates/vmaf-cuda/mock/mock_cuda.c -lpthread
    cc -O2 -Wall -Wextra -shared -fPIC -o "$mockdir/nvrtc/libnvrtc.so" crates/vmaf-cuda/mock/mock_nvrtc.c
    # A real NVRTC (e.g. from the nvidia-cuda-nvrtc wheel) replaces the mock
    # one with MOCK_NVRTC_DIR: the kernels are then really compiled, and only
    # the driver is simulated.
    echo "running on the mock driver (plumbing only, no GPU):" >&2
    # The mock NVRTC makes no real images: keep them out of the disk cache.
    VMAF_KERNEL_CACHE=off LD_LIBRARY_PATH=$mockdir/driver:${MOCK_NVRTC_DIR:-$mockdir/nvrtc} "$carry/device_check" --clips "$carry/clips"
    exit
fi

cat <<EOF
Run on the GPU machine (lead):
  run(command="LD_LIBRARY_PATH=/usr/local/cuda/lib64:\${LD_LIBRARY_PATH:-} $carry/device_check --clips $carry/clips --vmaf $carry/vmaf ${extra[*]}", carry=["$carry"], timeout_s=600)
EOF
