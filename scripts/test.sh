#!/usr/bin/env bash
# The project's test command: every test with the race detector, then each
# fuzz target for a short, bounded time. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."

go test -race -count=1 -timeout 15m ./...

# Fuzz targets: "package target". Each runs FUZZTIME (default 20000x, that is
# 20,000 inputs; a duration such as 5s works too) beyond its seed corpus,
# which the go test run above already checked. A count, not a duration:
# when a duration ends while a worker minimizes a new input, Go's fuzzer can
# fail with "context deadline exceeded" and no failing input. Each target
# starts from an empty cache of generated inputs, so runs stay alike.
fuzztime="${FUZZTIME:-20000x}"
fuzzcache=$(mktemp -d)
trap 'rm -rf "$fuzzcache"' EXIT
while read -r pkg target; do
	[ -n "$pkg" ] || continue
	listed=$(go test -list "^${target}\$" "$pkg")
	if ! grep -qx "$target" <<<"$listed"; then
		echo "fuzz target $target not found in $pkg: update scripts/test.sh" >&2
		exit 1
	fi
	echo "fuzz $pkg $target for $fuzztime"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" -test.fuzzcachedir "$fuzzcache/$target"
done <<'TARGETS'
. FuzzVerify
. FuzzParseSignatureHeader
. FuzzMatchEventType
. FuzzEnvelope
./internal/tmpl FuzzTemplate
./internal/tmpl FuzzValidValue
./httpapi FuzzRequestBody
TARGETS
