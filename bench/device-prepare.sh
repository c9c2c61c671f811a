#!/usr/bin/env bash
# Run here, on a machine without the GPU, before a session's device call: puts in .device/
# (git-ignored) what bench/device.sh needs on the bare device machine, which reaches no
# registry: the Vulkan/EGL loaders, Deno (xz), and Deno's npm cache for the package (tar.xz).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .device && mkdir -p .device/gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086 # $o is several options
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .device/gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
xz -T2 -6 -c "$(command -v deno)" >.device/deno.xz
cache=$(mktemp -d)
DENO_DIR=$cache deno cache -q mod.ts scripts/bench.ts tests/*.ts
tar -C "$cache" -cJf .device/deno-dir.tar.xz npm
rm -rf "$cache"
du -sh .device/* | sed 's/^/  /'
echo "carry [\".device\"] and run: bash bench/device.sh (64 MiB travel in all)"
