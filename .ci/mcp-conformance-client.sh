#!/usr/bin/env bash
# MCP conformance, client side: runs every client scenario of the official suite against cadre's MCP
# client (test/server/conformance-client.ts), one after another, in a network namespace with only
# loopback (the suite's mock servers listen on all interfaces). Prints one line per scenario and the
# totals; exits 0 when the results match the `client:` list of the expected-failures file.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite needs Node 22+; the client itself runs on whatever node is current.
source .ci/node24.sh

# Everything below runs in a namespace of its own (root, or a user namespace where allowed).
if [[ -z "${CADRE_CONFORMANCE_NETNS:-}" ]]; then
  exec unshare -n env CADRE_CONFORMANCE_NETNS=1 CADRE_NODE24="$node24" \
    sh -c 'ip link set lo up && exec bash .ci/mcp-conformance-client.sh'
fi

suite=node_modules/@modelcontextprotocol/conformance/dist/index.js
expected=.ci/mcp-conformance-expected-failures.yml
client="node_modules/.bin/tsx test/server/conformance-client.ts"
out="$(mktemp -d)"

mapfile -t scenarios < <("$node24" "$suite" list --client | sed -n 's/^  - \([^ ]*\).*/\1/p')
[[ ${#scenarios[@]} -gt 0 ]] || { echo "the suite listed no client scenarios"; exit 1; }
# The scenarios listed under `client:` (one `  - name # reason` per line).
mapfile -t xfail < <(awk '/^client:/ { on = 1; next } /^[^ #]/ { on = 0 } on && /^  - / { print $2 }' "$expected")

status=0
: >"$out/summary.tsv"
for scenario in "${scenarios[@]}"; do
  dir="$out/${scenario//\//_}"
  mkdir -p "$dir"
  suite_status=0
  "$node24" "$suite" client --command "$client" --scenario "$scenario" \
    --expected-failures "$expected" -o "$dir" >"$dir/suite.log" 2>&1 || suite_status=$?
  # The suite judges by its checks alone; a client that crashed or hung fails here too, unless the
  # scenario allows it (the suite then prints no such line) or it is an expected failure anyway.
  client_failed=0
  grep -qE 'CLIENT EXITED WITH ERROR|CLIENT TIMED OUT' "$dir/suite.log" && client_failed=1
  listed=0
  for name in "${xfail[@]}"; do [[ "$name" == "$scenario" ]] && listed=1; done
  if [[ $suite_status -ne 0 || ($client_failed -eq 1 && $listed -eq 0) ]]; then
    status=1
    echo "--- $scenario: unexpected result"
    sed -n '/^Checks:/,$p' "$dir/suite.log"
  fi
  printf '%s\t%s\t%s\t%s\n' "$scenario" "$dir" "$client_failed" "$listed" >>"$out/summary.tsv"
done

# One line per scenario and the totals, from the checks.json files the suite wrote.
"$node24" -e '
  const { readdirSync, readFileSync } = require("node:fs");
  let passed = 0, failed = 0, warned = 0, scenariosPassed = 0, scenarios = 0;
  for (const line of readFileSync(process.argv[1], "utf8").trim().split("\n")) {
    const [name, dir, clientFailed, listed] = line.split("\t");
    const file = readdirSync(dir, { recursive: true }).find((f) => String(f).endsWith("checks.json"));
    const checks = file ? JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) : [];
    const ok = checks.filter((c) => c.status === "SUCCESS").length;
    const bad = checks.filter((c) => c.status === "FAILURE").length;
    const warn = checks.filter((c) => c.status === "WARNING").length;
    const pass = file && bad === 0 && warn === 0 && clientFailed === "0";
    passed += ok; failed += bad; warned += warn; scenarios += 1; if (pass) scenariosPassed += 1;
    // xfail: failed as the expected-failures file says; STALE: listed there, yet passed.
    const mark = pass ? (listed === "1" ? "STALE" : "pass ") : listed === "1" ? "xfail" : "FAIL ";
    console.log(`${mark}  ${name}  ${ok}/${ok + bad + warn}${clientFailed === "1" ? " (client exited with an error)" : ""}`);
  }
  console.log(`scenarios: ${scenariosPassed}/${scenarios} passed; checks: ${passed} passed, ${failed} failed, ${warned} warnings`);
' "$out/summary.tsv"
exit "$status"
