#!/bin/sh
# Checks fleet-eval identify --enrol (the models_fleet_eval_enrol CTest):
#   enrol_check.sh FLEET_EVAL DATA_DIR
# A bad METHOD is a usage error (2); on the sample faces the last JSON line
# of `--enrol original` says "enrol":"original" and its original row equals
# the one without --enrol (original on both sides either way). Exits 77
# (skipped) without MobileFaceNet.
exe=$1 data=$2
models=${FF_MODELS_DIR:-}
[ -f "$models/ffn/mobilefacenet.ffn" ] || [ -f "$models/mobilefacenet.ffn" ] || exit 77

"$exe" identify --images "$data/faces/aligned112" --enrol bogus >/dev/null 2>&1
[ $? -eq 2 ] || { echo "enrol_check: --enrol bogus did not exit 2" >&2; exit 1; }

last_json() {
	out=$("$exe" identify --aligned --images "$data/faces/aligned112" \
		--vq-model "$data/vq/tiny-test" --methods original,vq --threads 1 "$@") || exit 1
	echo "$out" | tail -n 1
}
original_row() { echo "$1" | sed -n 's/.*"original":\({[^}]*}\).*/\1/p'; }

plain=$(last_json) || exit 1
enrol=$(last_json --enrol original) || exit 1
echo "$plain"
echo "$enrol"
echo "$plain" | grep -q '"enrol":null,' || { echo "enrol_check: no \"enrol\":null" >&2; exit 1; }
echo "$enrol" | grep -q '"enrol":"original",.*"vq":{"bytes_per_face"' ||
	{ echo "enrol_check: no \"enrol\":\"original\" or vq row" >&2; exit 1; }
row=$(original_row "$plain")
[ -n "$row" ] && [ "$row" = "$(original_row "$enrol")" ] ||
	{ echo "enrol_check: original row differs with --enrol original" >&2; exit 1; }
