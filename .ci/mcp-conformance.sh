#!/usr/bin/env bash
# MCP conformance: serves cadre's MCP server on a free loopback port and runs the official suite
# against it. Exits with the suite's status (0 when results match the expected-failures list).
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite needs Node 22+; the server itself runs on whatever node is current.
source .ci/node24.sh

out="$(mktemp -d)"
log="$out/server.log"
node_modules/.bin/tsx test/server/conformance-server.ts >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(head -n1 "$log" 2>/dev/null | grep -Eo '^http://127\.0\.0\.1:[0-9]+/mcp$' || true)"
  [[ -n "$url" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
[[ -n "$url" ]] || { echo "server did not start"; cat "$log"; exit 1; }
echo "cadre MCP server at $url"

status=0
"$node24" node_modules/@modelcontextprotocol/conformance/dist/index.js server \
  --url "$url" --expected-failures .ci/mcp-conformance-expected-failures.yml -o "$out/results" || status=$?

# One line per scenario and a total, from the checks.json files the suite wrote.
"$node24" -e '
  const { readdirSync, readFileSync } = require("node:fs");
  const dir = process.argv[1];
  let passed = 0, failed = 0, scenariosPassed = 0, scenarios = 0;
  for (const name of readdirSync(dir).sort()) {
    let checks;
    try { checks = JSON.parse(readFileSync(`${dir}/${name}/checks.json`, "utf8")); } catch { continue; }
    const ok = checks.filter((c) => c.status === "SUCCESS").length;
    const bad = checks.filter((c) => c.status === "FAILURE").length;
    passed += ok; failed += bad; scenarios += 1; if (bad === 0) scenariosPassed += 1;
    console.log(`${bad === 0 ? "pass" : "FAIL"}  ${name.replace(/^server-|-\d[\d-T:.Z]*$/g, "")}  ${ok}/${checks.length}`);
  }
  console.log(`scenarios: ${scenariosPassed}/${scenarios} passed; checks: ${passed} passed, ${failed} failed`);
' "$out/results"
exit "$status"
