/**
 * redaction: what secret redaction and PII detection cost.
 *   1 redact()     one ~1 KB event payload (a tool call: URL, headers, prose, ids, numbers), without
 *                  and with secrets, per call; against the two-regex redact() that came before
 *   2 detectPii()  100 KB of ordinary prose, logs and code, without and with personal data
 * p50/p95 over batches, three repeats each. Prints a table per part and writes bench/results/redaction.json.
 *
 *   npm run bench:redaction [-- --samples 300]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { redact } from 'cadre';
import { detectPii } from 'cadre/models';
import { negativeLines, positiveSamples } from '../test/fixtures/sensitive/index.js';
import { fmt, percentile, printTable } from './bench-kit.js';

const args = process.argv.slice(2);
const samples = Number(args[args.indexOf('--samples') + 1] || 300);
const REPEATS = 3;

/** The redact() this replaced: two regexes, `sk-` and `Bearer` only. Kept as the floor to compare with. */
const legacySecretKey = /(api[-_]?key|secret|secret[-_]?key|passw(or)?d|authorization|cookie|credentials?|token)$/i;
const legacySecretValue = /\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|Bearer\s+[A-Za-z0-9._~+/-]{16,}=*)/g;
function legacyRedact(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') return value.replace(legacySecretValue, '[redacted]');
  if (Array.isArray(value)) return value.map((item: unknown) => legacyRedact(item, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    out[key] = legacySecretKey.test(key) && item != null && item !== '' ? '[redacted]' : legacyRedact(item, depth + 1);
  return out;
}

const j = (...parts: string[]) => parts.join('');
const payload = (secret: boolean) => ({
  type: 'tool.called',
  taskId: 'task_research_3',
  step: 4,
  callId: 'call_8f2a61c0',
  tool: 'http_fetch',
  effects: 'read',
  replayed: false,
  args: {
    url: secret
      ? j('https://api.example.com/v2/search?q=quarterly+revenue&page=2&access_token=', 'Zx8Qw2Er5Ty7Ui9Op1As3Df4')
      : 'https://api.example.com/v2/search?q=quarterly+revenue&page=2&per_page=50',
    method: 'GET',
    headers: {
      Accept: 'application/json',
      'User-Agent': 'cadre/0.1.0 (+https://example.com/bot)',
      'X-Request-Id': '123e4567-e89b-12d3-a456-426614174000',
    },
    note: 'Find the three largest changes in revenue between Q1 and Q3 2024 and explain each in two sentences. Prefer primary sources; cite the filing date.',
    context: secret
      ? j(
          'Earlier result: connection to postgres://app:',
          'Tr0ub4dor-3x',
          '@db.internal:5432/reports timed out after 30 s; retried with ',
          'ghp_',
          '16C7e42F292c6912E7710c838347Ae178B4a',
        )
      : 'Earlier result: 14 filings found, 3 of them amended; the largest filing is 2.4 MB and dated 2024-08-14. Revenue rose 12.5% to 4.21 billion.',
    limits: { maxResults: 50, timeoutMs: 30_000, retries: 2 },
    tags: ['finance', 'quarterly', 'q3-2024', 'research'],
  },
});

/** p50/p95 of one call in µs: `samples` batches of `batch` calls each. */
function measure(fn: () => unknown, batch: number): { p50: number; p95: number } {
  for (let i = 0; i < batch * 20; i++) fn();
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

function text100k(withPii: boolean): string {
  const lines = negativeLines();
  const pii = positiveSamples().filter((s) => !['api_key', 'private_key'].includes(s.kind));
  let out = '';
  for (let i = 0; out.length < 100_000; i++)
    out += `${lines[i % lines.length]}\n${withPii && i % 40 === 0 ? `${pii[i % pii.length]!.text}\n` : ''}`;
  return out.slice(0, 100_000);
}

console.log(
  `redaction: Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}, ${samples} samples × ${REPEATS} repeats\n`,
);
const report: Record<string, unknown> = {};
const part = (name: string, unit: string, cases: [string, () => unknown, number][]) => {
  const rows: (string | number)[][] = [];
  const results: Record<string, { p50: number; p95: number }[]> = {};
  for (const [label, fn, batch] of cases) {
    results[label] = Array.from({ length: REPEATS }, () => measure(fn, batch));
    const scale = unit === 'ms' ? 1000 : 1;
    results[label]!.forEach((r, i) => rows.push([label, i + 1, fmt(r.p50 / scale, 3), fmt(r.p95 / scale, 3)]));
  }
  printTable(['case', 'repeat', `p50 ${unit}`, `p95 ${unit}`], rows);
  console.log('');
  report[name] = { unit: 'µs', results };
};

const clean = payload(false);
const dirty = payload(true);
console.log(
  `1 redact() on one event payload (${JSON.stringify(clean).length} and ${JSON.stringify(dirty).length} bytes as JSON)`,
);
part('redact', 'µs', [
  ['no secret', () => redact(clean), 200],
  ['two secrets + key', () => redact(dirty), 50],
  ['legacy, no secret', () => legacyRedact(clean), 200],
]);
const plain = text100k(false);
const withPii = text100k(true);
console.log('2 detectPii() on 100 KB of text');
part('detectPii', 'ms', [
  ['100 KB, no PII', () => detectPii(plain), 1],
  ['100 KB, PII every 40 lines', () => detectPii(withPii), 1],
]);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}redaction.json`,
  `${JSON.stringify({ node: process.version, cores: cpus().length, loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))), samples, ...report }, null, 2)}\n`,
);
