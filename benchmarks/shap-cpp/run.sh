#!/usr/bin/env bash
# shap's own C++ TreeSHAP (single thread, raw margin) on the three ../shared/fixtures/bench models, and the max abs
# difference of its values from ours, with our timing (single thread, best of 3 after a warm-up), in three modes:
#   path            path-dependent SHAP values (ours: treeShapPathDependent, default kernel)
#   interventional  shap's "independent" feature dependence, background = last N_BG rows of data.csv
#                   (ours: treeShapInterventional)
#   interactions    path-dependent SHAP interaction values (ours: treeShapInteractions)
#
#   bash benchmarks/shap-cpp/run.sh SHAP_CEXT_DIR [rows_gbm=1000] [rows_rf=200]
#
# rows_gbm / rows_rf are the path-mode rows. Environment (defaults): MODES="path interventional interactions",
# INTERV_ROWS=50 (all models), N_BG=100, IA_ROWS_GBM=20, IA_ROWS_RF=5.
#
# SHAP_CEXT_DIR: folder holding shap's shap/cext/tree_shap.h (third-party; never copied into the repo).
# Two builds: shap's own flags (setup.py adds none on Linux, so setuptools uses Python's sysconfig CFLAGS
# "-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall", plus -fPIC for the extension) and -O3 -march=native; the
# interventional and interactions modes run the shap-flags build only.
set -euo pipefail
HDR_DIR=$(cd "${1:?usage: run.sh SHAP_CEXT_DIR [rows_gbm] [rows_rf]}" && pwd)
ROWS_GBM=${2:-1000}
ROWS_RF=${3:-200}
MODES=${MODES:-path interventional interactions}
INTERV_ROWS=${INTERV_ROWS:-50}
N_BG=${N_BG:-100}
IA_ROWS_GBM=${IA_ROWS_GBM:-20}
IA_ROWS_RF=${IA_ROWS_RF:-5}
MODELS=(perf-gbm-500x6-reg perf-rf-100x10-reg perf-gbm-200x6-binary)
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
EXPORT_ROWS=$(printf '%s\n' "$ROWS_GBM" "$ROWS_RF" "$INTERV_ROWS" "$IA_ROWS_GBM" "$IA_ROWS_RF" | sort -n | tail -1)
node --import=tsx --conditions=@genome/source "$HERE/export-model.ts" "$TMP/models" "$EXPORT_ROWS" "$N_BG" | sed 's/ -> .*//'
echo
echo "g++ $(g++ -dumpfullversion), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), single thread, best of 3 after a warm-up"
for mode in $MODES; do
  mkdir -p "$TMP/shap/$mode"
  case $mode in
    path) builds=("${ORDER[@]}") ;;
    interventional | interactions) builds=("${ORDER[0]}") ;;
    *) echo "unknown mode $mode (path|interventional|interactions)" >&2; exit 2 ;;
  esac
  echo
  echo "#### mode $mode"
  for v in "${builds[@]}"; do
    echo "== $v: g++ ${FLAGS[$v]}"
    for m in "${MODELS[@]}"; do
      case $mode in
        path) rows=$ROWS_GBM; [[ $m == *-rf-* ]] && rows=$ROWS_RF ;;
        interventional) rows=$INTERV_ROWS ;;
        interactions) rows=$IA_ROWS_GBM; [[ $m == *-rf-* ]] && rows=$IA_ROWS_RF ;;
      esac
      out=/dev/null
      [ "$v" = "${ORDER[0]}" ] && out="$TMP/shap/$mode/$m.shap.bin"
      "$TMP/harness-$v" "$TMP/models/$m.bin" "$rows" "$out" --mode="$mode"
    done
  done
done
for mode in $MODES; do
  echo
  echo "mode $mode: shap C++ (${ORDER[0]} build) vs ours (single thread):"
  node --import=tsx --conditions=@genome/source "$HERE/compare.ts" "$TMP/shap/$mode" --mode="$mode" --n-bg="$N_BG"
done
