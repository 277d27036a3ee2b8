#!/usr/bin/env bash
# The project's test command: every test with the race detector, then each
# fuzz target for a short, bounded time. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."

go test -race -count=1 -timeout 15m ./...

# Fuzz targets: "package target". Each runs for FUZZTIME (default 5s) beyond
# its seed corpus, which the go test run above already checked.
fuzztime="${FUZZTIME:-5s}"
while read -r pkg target; do
	[ -n "$pkg" ] || continue
	listed=$(go test -list "^${target}\$" "$pkg")
	if ! grep -qx "$target" <<<"$listed"; then
		echo "fuzz target $target not found in $pkg: update scripts/test.sh" >&2
		exit 1
	fi
	echo "fuzz $pkg $target for $fuzztime"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
done <<'TARGETS'
. FuzzVerify
. FuzzParseSignatureHeader
. FuzzMatchEventType
. FuzzEnvelope
./internal/tmpl FuzzTemplate
./internal/tmpl FuzzValidValue
./httpapi FuzzRequestBody
TARGETS
