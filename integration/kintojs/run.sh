#!/usr/bin/env bash
# Runs kinto.js's server-backed suites against changegate, started by the
# pserve wrapper next to this script from the suites' own ini files.
#
#   bash integration/kintojs/run.sh /path/to/kinto.js [test/http/integration_test.ts]
#
# The kinto.js checkout needs its node modules (npm ci --ignore-scripts).
# The server listens on 127.0.0.1:8888, as the suites expect; each suite
# stops it when done.
set -euo pipefail
kintojs=$(cd "${1:?usage: run.sh <kinto.js checkout> [suite]}" && pwd)
suite=${2:-test/http/integration_test.ts}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(mktemp -d)/changegate
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$here/../.." && go build -o "$bin" ./cmd/changegate)
cp "$here/vitest.config.mts" "$kintojs/vitest.changegate.config.mts"
cd "$kintojs"
KINTOJS_DIR=$kintojs KINTOJS_SUITE=$suite KINTO_PSERVE_EXECUTABLE=$here/pserve CHANGEGATE_BIN=$bin \
	timeout 1200 npx vitest run --config vitest.changegate.config.mts --reporter=dot
