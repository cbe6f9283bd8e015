#!/usr/bin/env bash
# Usage: run-all.sh [SECONDS [TARGET...]]
# Runs every fuzz target (or the TARGETs named) for SECONDS each (default
# 60), seeding the corpora from the spec test vectors beside the checkout.
# Needs a nightly toolchain and `cargo install cargo-fuzz`. Prints how long
# each target ran, how many inputs it executed and whether it crashed;
# exits non-zero if any did.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
vectors=$(cd .. && for d in . .. ../..; do [ -d "$d/shared/vectors" ] && { cd "$d/shared/vectors"; pwd; break; }; done)
seed() { # target, glob...
  local t=$1; shift
  mkdir -p "corpus/$t"
  [ -n "$vectors" ] || return 0
  for f in "$@"; do [ -f "$f" ] && cp "$f" "corpus/$t/" 2>/dev/null; done
}
if [ -n "${vectors:-}" ]; then
  v=$vectors/image-spec
  seed descriptor "$v"/content-descriptor/*/*[0-9].json
  seed image_manifest "$v"/image-manifest/*/*[0-9].json
  seed image_index "$v"/image-index/*/*[0-9].json
  seed image_config "$v"/config/*/*[0-9].json
  seed oci_layout "$v"/image-layout/*/*[0-9].json
  seed docker_manifest "$v"/image-manifest/valid/backwards_compatibility-*[0-9].json
  seed docker_manifest_list "$v"/image-index/valid/backwards_compatibility-*[0-9].json
  seed any_manifest "$v"/image-manifest/*/*[0-9].json "$v"/image-index/*/*[0-9].json
  seed runtime_config "$vectors"/runtime-spec/*/config/*.json
  seed runtime_state "$vectors"/runtime-spec/*/state/*.json
  seed runtime_features "$vectors"/runtime-spec/*/features/*.json
else
  echo "no shared/vectors found: corpora start empty"
fi
failed=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # Seeds the project made itself (netlink replies, device rules, configs,
  # seccomp profiles, Link and Retry-After headers, token responses,
  # credentials files, tag lists, a referrers index).
  [ -d "seeds/$t" ] && cp seeds/"$t"/* "corpus/$t/" 2>/dev/null
  start=$(date +%s)
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 >"/tmp/fuzz-$t.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "/tmp/fuzz-$t.log" | tail -1 | tr -dc 0-9)
    echo "$t: $(( $(date +%s) - start )) s, ${runs:-?} executions, no crash"
  else
    echo "$t: CRASH after $(( $(date +%s) - start )) s (see /tmp/fuzz-$t.log and fuzz/artifacts/$t)"
    failed=1
  fi
done
exit $failed
