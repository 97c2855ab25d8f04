#!/usr/bin/env bash
# Runs the whole test suite: makes the test clips (once) from
# ../shared/clips/make_clips.sh, then `cargo test` over the workspace (the
# test profile is optimised, so the parity tests on real clips are quick).
#
# Needs ffmpeg and scikit-image for the clips; .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VMAF_SHARED_DIR:-../shared}
clips=${VMAF_CLIPS_DIR:-clips}
if [ ! -f "$clips/.complete" ]; then
  command -v ffmpeg >/dev/null || { echo "test.sh: ffmpeg is needed to make the test clips (apt-get install ffmpeg)" >&2; exit 1; }
  python3 -c 'import skimage' 2>/dev/null || { echo "test.sh: scikit-image is needed to make the test clips (pip install scikit-image)" >&2; exit 1; }
  echo "making test clips in $clips ..."
  bash "$shared/clips/make_clips.sh" "$clips"
  touch "$clips/.complete"
fi
export VMAF_CLIPS_DIR=$(cd "$clips" && pwd)
cargo test --workspace --locked "$@"
