/**
 * startup: how long a fresh process takes to `import 'cadre'` (and each public entry point) and to
 * answer `cadre --help` / `cadre --version`, from the built package (dist/) as users run it.
 * Each case runs `--runs` times per repeat, three repeats; the table shows the median of each repeat
 * as min / median / max, beside a bare `node -e ""` for the cost of starting Node itself.
 * Prints a table and writes bench/results/startup.json.
 *
 *   npm run build && npm run bench:startup [-- --runs 15]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, percentile, printTable } from './bench-kit.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 15) || 15;
if (!existsSync(`${root}dist/src/index.js`)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const imports = (specifier: string) => ['--input-type=module', '-e', `await import('${specifier}')`];
const cases: Array<{ name: string; args: string[] }> = [
  { name: 'node -e ""', args: ['-e', ''] },
  { name: "import 'cadre'", args: imports('cadre') },
  { name: "import 'cadre/tools'", args: imports('cadre/tools') },
  { name: "import 'cadre/models'", args: imports('cadre/models') },
  { name: "import 'cadre/testing'", args: imports('cadre/testing') },
  { name: 'cadre --help', args: ['bin/cadre.js', '--help'] },
  { name: 'cadre --version', args: ['bin/cadre.js', '--version'] },
];

function timeOnce(caseArgs: string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, caseArgs, { cwd: root, stdio: 'ignore' });
  return performance.now() - started;
}

const rows = cases.map((c) => {
  const medians = [1, 2, 3].map(() => {
    const times = Array.from({ length: runs }, () => timeOnce(c.args)).sort((a, b) => a - b);
    return percentile(times, 0.5);
  });
  const sorted = [...medians].sort((a, b) => a - b);
  return { case: c.name, minMs: sorted[0]!, medianMs: sorted[1]!, maxMs: sorted[2]! };
});

console.log(
  `startup: ${runs} fresh processes per repeat, 3 repeats, Node ${process.version}; median of each repeat in ms\n`,
);
printTable(
  ['case', 'min', 'median', 'max'],
  rows.map((r) => [r.case, fmt(r.minMs, 0), fmt(r.medianMs, 0), fmt(r.maxMs, 0)]),
);
const dir = `${root}bench/results/`;
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}startup.json`,
  `${JSON.stringify({ bench: 'startup', node: process.version, runs, rows, at: new Date().toISOString() }, null, 2)}\n`,
);
