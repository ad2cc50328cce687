#!/usr/bin/env bash
# The files the Debian package carries beside the binary, made by the binary itself: the
# manual page, the shell completions and the example config. Usage: build-assets.sh BINARY
# (they go to target/package/).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/cardmint}"
out=target/package
rm -rf "$out"
mkdir -p "$out"
"$bin" man | gzip -9n > "$out/cardmint.1.gz"
"$bin" completions bash > "$out/cardmint.bash"
"$bin" completions zsh > "$out/_cardmint"
"$bin" completions fish > "$out/cardmint.fish"
"$bin" config init --path "$out/cardmint.toml" >/dev/null
