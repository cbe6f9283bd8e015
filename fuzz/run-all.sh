#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), seeding the corpora
# from the spec test vectors beside the checkout. Needs a nightly toolchain
# and `cargo install cargo-fuzz`. Prints how long each target ran and
# whether it crashed; exits non-zero if any did.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
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
for t in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$t"
  # Seeds the project made itself (netlink replies, device rules, configs,
  # seccomp profiles, Link and Retry-After headers, token responses,
  # credentials files, tag lists, a referrers index).
  [ -d "seeds/$t" ] && cp seeds/"$t"/* "corpus/$t/" 2>/dev/null
  start=$(date +%s)
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 >"/tmp/fuzz-$t.log" 2>&1; then
    echo "$t: $(( $(date +%s) - start )) s, no crash"
  else
    echo "$t: CRASH after $(( $(date +%s) - start )) s (see /tmp/fuzz-$t.log and fuzz/artifacts/$t)"
    failed=1
  fi
done
exit $failed
