#!/bin/sh
# Checks fleet-eval --cache (the models_fleet_eval_cache CTest):
#   cache_check.sh FLEET_EVAL DATA_DIR
# A first openset run writes one column file per method; a second reads them
# all back and prints the same figures; identify on the same images reuses
# them too. Exits 77 (skipped) without MobileFaceNet.
exe=$1 data=$2
models=${FF_MODELS_DIR:-}
[ -f "$models/ffn/mobilefacenet.ffn" ] || [ -f "$models/mobilefacenet.ffn" ] || exit 77
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

run() {
	"$exe" "$1" --aligned --images "$data/faces/aligned112" --vq-model "$data/vq/tiny-test" \
		--methods original,vq,webp_256 --threads 1 --cache "$dir" 2>"$dir/err" |
		tail -n 1 | sed 's/"seconds":[0-9.]*//'
}
first=$(run openset) || exit 1
[ "$(ls "$dir"/*.col | wc -l)" -eq 3 ] || { echo "cache_check: not 3 column files" >&2; exit 1; }
second=$(run openset) || exit 1
grep -q '^cache: 3 of 3 methods read' "$dir/err" || { echo "cache_check: columns not read" >&2; exit 1; }
[ -n "$first" ] && [ "$first" = "$second" ] || { echo "cache_check: figures differ" >&2; exit 1; }
echo "$second" | grep -q '"vq_model":"tiny-test"' || { echo "cache_check: no vq_model" >&2; exit 1; }
run identify | grep -q '"command":"identify"' && grep -q '^cache: 3 of 3' "$dir/err" ||
	{ echo "cache_check: identify did not reuse the columns" >&2; exit 1; }
