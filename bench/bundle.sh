#!/usr/bin/env bash
# The bundle benchmark (issue 20): `dossier build` against `sha256sum` on the same evidence set.
#
#   bench/bundle.sh [FILES] [MIB]     FILES evidence files of MIB MiB each, default 4 × 512 (2 GiB)
#
# Writes the files (random bytes, so nothing compresses) under bench/data/bundle-FILESxMIB/ with
# an audit citing them as evidence and a config beside them, then runs each side once unmeasured
# (page cache warm) and RUNS times (default 3) alternating under /usr/bin/time -v. Prints the
# median wall time and peak RSS of each. `build` ends with the zip synced to disk (fsync), so its
# time includes writing the bundle out; sha256sum only reads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
FILES=${1:-4}
MIB=${2:-512}
RUNS=${RUNS:-3}
dir="$here/data/bundle-${FILES}x${MIB}"
mkdir -p "$dir/evidence"

(cd "$repo" && cargo build --release --locked -q)
dossier="${CARGO_TARGET_DIR:-$repo/target}/release/dossier"

evidence=()
for i in $(seq "$FILES"); do
    f="$dir/evidence/capture-$i.bin"
    [ -s "$f" ] || head -c "$((MIB << 20))" /dev/urandom > "$f"
    evidence+=("$f")
done
{
    echo "framework: incident-readiness-12"
    echo "system: fraud-detector"
    echo "assessed_on: 2026-08-01"
    echo "assessor: Benchmark"
    echo "controls:"
    echo "  - id: IR-01"
    echo "    score: 3"
    echo "    evidence: [$(cd "$dir" && ls evidence/*.bin | paste -sd, - | sed 's/,/, /g')]"
} > "$dir/audit.yaml"
cat > "$dir/dossier.yaml" <<YAML
organization: Benchmark
report:
  period: { start: 2026-07-01, end: 2026-09-30 }
sources:
  mlflow:
    - path: $repo/sample-evidence/mlflow/mlflow.db
  audits: [audit.yaml]
YAML

. "$here/lib.sh"

build=("$dossier" build -c "$dir/dossier.yaml" --unsigned --force --quiet -o "$dir/dist")
rm -f "$dir"/{build,sha256sum}.runs
"${build[@]}" > /dev/null
sha256sum "${evidence[@]}" > /dev/null
for _ in $(seq "$RUNS"); do
    measure "$dir" build "${build[@]}"
    measure "$dir" sha256sum sha256sum "${evidence[@]}"
done
total=$(du -cb "${evidence[@]}" | tail -1 | cut -f1)
printf 'evidence         %d files, %.2f GiB\n' "$FILES" "$(echo "$total / 1073741824" | bc -l)"
printf 'dossier build    %s s wall, peak RSS %.2f GiB (median of %d)\n' \
    "$(median "$dir/build.runs" 1)" "$(echo "$(median "$dir/build.runs" 2) / 1048576" | bc -l)" "$RUNS"
printf 'sha256sum        %s s wall\n' "$(median "$dir/sha256sum.runs" 1)"
