#!/usr/bin/env bash
# shap's own C++ path-dependent TreeSHAP (single thread) on the three ../shared/fixtures/bench models,
# and the max abs difference of its SHAP values from ours (treeShapPathDependent, default kernel), with our timing.
#
#   bash benchmarks/shap-cpp/run.sh SHAP_CEXT_DIR [rows_gbm=1000] [rows_rf=200]
#
# SHAP_CEXT_DIR: folder holding shap's shap/cext/tree_shap.h (third-party; never copied into the repo).
# Two builds: shap's own flags (setup.py adds none on Linux, so setuptools uses Python's sysconfig CFLAGS
# "-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall", plus -fPIC for the extension) and -O3 -march=native.
set -euo pipefail
HDR_DIR=$(cd "${1:?usage: run.sh SHAP_CEXT_DIR [rows_gbm] [rows_rf]}" && pwd)
ROWS_GBM=${2:-1000}
ROWS_RF=${3:-200}
[ -f "$HDR_DIR/tree_shap.h" ] || { echo "no tree_shap.h in $HDR_DIR" >&2; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shap-cpp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

declare -A FLAGS=(
  [shap-setup]="-std=c++17 -Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall -fPIC"
  [O3-native]="-std=c++17 -O3 -march=native"
)
ORDER=(shap-setup O3-native)
for v in "${ORDER[@]}"; do
  # shellcheck disable=SC2086
  g++ ${FLAGS[$v]} -I"$HDR_DIR" "$HERE/harness.cpp" -o "$TMP/harness-$v" 2>"$TMP/cc-$v.log" || { cat "$TMP/cc-$v.log" >&2; exit 1; }
done

cd "$ROOT"
node --import=tsx --conditions=@genome/source "$HERE/export-model.ts" "$TMP/models" "$ROWS_GBM" | sed 's/ -> .*//'
mkdir -p "$TMP/shap"
echo
echo "g++ $(g++ -dumpfullversion), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), single thread, best of 3 after a warm-up"
for v in "${ORDER[@]}"; do
  echo "== $v: g++ ${FLAGS[$v]}"
  for m in perf-gbm-500x6-reg perf-rf-100x10-reg perf-gbm-200x6-binary; do
    rows=$ROWS_GBM
    [[ $m == *-rf-* ]] && rows=$ROWS_RF
    out=/dev/null
    [ "$v" = "${ORDER[0]}" ] && out="$TMP/shap/$m.shap.bin"
    "$TMP/harness-$v" "$TMP/models/$m.bin" "$rows" "$out"
  done
done
echo
echo "shap C++ (${ORDER[0]} build) vs ours (treeShapPathDependent, default kernel, single thread):"
node --import=tsx --conditions=@genome/source "$HERE/compare.ts" "$TMP/shap"
