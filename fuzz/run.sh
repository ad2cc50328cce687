#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), seeded from the repository's own
# files: the platform's sample answers, the samples, the shipped designs, sheets and config.
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`). A crash is saved under fuzz/artifacts/TARGET/: turn it into a
# regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
mkdir -p corpus/xml_answers corpus/csv_import corpus/design_toml corpus/sheet_toml corpus/config_toml corpus/sold_list
cp ../tests/fixtures/*.xml corpus/xml_answers/
cp ../samples/*.csv corpus/csv_import/
cp ../templates/cards/*.toml ../samples/design/card.toml corpus/design_toml/
cp ../templates/sheets/*.toml corpus/sheet_toml/
cp ../templates/config/cardmint.toml corpus/config_toml/example.toml
cp ../samples/cardmint.toml corpus/config_toml/sample.toml
cp ../samples/shop12-sold.csv corpus/sold_list/
for target in xml_answers csv_import design_toml sheet_toml config_toml sold_list; do
  echo "== $target: $seconds s"
  cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 \
    | grep -E "^(#[0-9]+.*(DONE|pulse)|==|SUMMARY|Done)" | tail -3
done
