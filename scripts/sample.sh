#!/usr/bin/env bash
# Builds vmaf, generates a small synthetic reference/distorted pair with the
# project's own generator, and scores it with the default model (JSON
# written to target/sample/out.json, pooled score printed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p vmaf-cli
cargo run --release --locked -q -p vmaf --example make_sample -- target/sample
./target/release/vmaf -r target/sample/ref.y4m -d target/sample/dis.y4m --threads 2 \
  --feature psnr --json -o target/sample/out.json
echo "per-frame scores: target/sample/out.json"
./target/release/vmaf -r target/sample/ref.y4m -d target/sample/dis.y4m -q --threads 2
