import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from 'cadre';
import { configFields, configReference } from '../scripts/config-reference.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const docsDir = join(root, 'docs');
// Blocks are written under the repository (scratch/ is gitignored), where they resolve `cadre`,
// `cadre/tools`, … through tsconfig paths; one folder per test process, so parallel runs do not meet.
mkdirSync(join(root, 'scratch'), { recursive: true });
const blockDir = mkdtempSync(join(root, 'scratch', 'docs-blocks-'));

/**
 * One fenced TypeScript block of a guide. ```ts blocks run as programs; ```ts vitest blocks are test
 * files and run under vitest; ```ts no-run blocks are fragments and are left alone.
 */
interface Block {
  guide: string;
  line: number;
  mode: 'run' | 'vitest' | 'no-run';
  code: string;
}

function blocksOf(guide: string): Block[] {
  const lines = readFileSync(join(docsDir, guide), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`${guide}:${i + 1}: a code block is never closed`);
    const [, lang, info] = open;
    if (lang === 'ts' || lang === 'typescript') {
      const mode = info!.trim() || 'run';
      if (mode !== 'run' && mode !== 'vitest' && mode !== 'no-run')
        throw new Error(`${guide}:${i + 1}: unknown block kind "${mode}" (run, vitest or no-run)`);
      blocks.push({ guide, line: i + 1, mode, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return blocks;
}

const guides = readdirSync(docsDir)
  .filter((f) => f.endsWith('.md'))
  .sort();
const blocks = guides.flatMap(blocksOf);
const fileOf = (b: Block) => `${b.guide.replace(/\.md$/, '')}-line-${b.line}${b.mode === 'vitest' ? '.test' : ''}.ts`;

// Offline: no model server answers, nothing is kept on disk unless a block asks for a folder of its own.
const dataDir = mkdtempSync(join(tmpdir(), 'cadre-docs-'));
const offline = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  OLLAMA_HOST: '127.0.0.1:2',
  CADRE_DATABASE_PATH: ':memory:',
  CADRE_DATA_DIR: dataDir,
};

afterAll(() => {
  rmSync(blockDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});
for (const block of blocks) if (block.mode !== 'no-run') writeFileSync(join(blockDir, fileOf(block)), block.code);

/** Runs one block file as a program, the way `npx tsx file.ts` would; exit code 0 means it passed its checks. */
const runProgram = (file: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: offline,
    encoding: 'utf8',
    timeout: 60_000,
  });

/** Runs one block file as a vitest test file, with the package's entry points mapped to the sources. */
function runVitest(file: string) {
  const paths = (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as TsConfig).compilerOptions.paths;
  const alias = Object.entries(paths).map(([name, [target]]) => ({
    find: new RegExp(`^${name.replace('/', '\\/')}$`),
    replacement: join(root, target!),
  }));
  const config = join(blockDir, 'vitest.config.mjs');
  writeFileSync(
    config,
    `export default { resolve: { alias: [${alias.map((a) => `{ find: ${String(a.find)}, replacement: ${JSON.stringify(a.replacement)} }`).join(', ')}] } };\n`,
  );
  return spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', config, '--root', blockDir, file],
    { cwd: root, env: { ...offline, NO_COLOR: '1' }, encoding: 'utf8', timeout: 90_000 },
  );
}
const valueOf = (config: object, key: string) => JSON.stringify((config as Record<string, unknown>)[key]);
type TsConfig = { compilerOptions: { paths: Record<string, string[]> } };

const report = (out: { stdout: string; stderr: string; error?: Error }) =>
  [out.error?.message, out.stdout.slice(-3000), out.stderr.slice(-3000)].filter(Boolean).join('\n');

describe('the guides in docs/', { timeout: 120_000 }, () => {
  it('each guide but the generated configuration reference has a block that runs', () => {
    const tested = new Set(blocks.filter((b) => b.mode !== 'no-run').map((b) => b.guide));
    expect(guides.filter((g) => g !== 'configuration.md' && !tested.has(g))).toEqual([]);
    expect(guides.length).toBeGreaterThanOrEqual(6);
  });

  it('a block that fails its own check fails here (the runner does not swallow exit codes)', () => {
    const file = join(blockDir, 'broken-block.ts');
    writeFileSync(file, "import { run } from 'cadre';\nif (typeof run === 'function') throw new Error('broken');\n");
    const out = runProgram(file);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/broken/);
  });

  it('every runnable block type-checks (strict, as the examples do)', () => {
    writeFileSync(
      join(blockDir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        include: blocks.filter((b) => b.mode !== 'no-run').map(fileOf),
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(blockDir, 'tsconfig.json')],
      { cwd: root, encoding: 'utf8', timeout: 110_000 },
    );
    // Errors name the block's file: tools-line-40.ts(12,3) is docs/tools.md, line 40 + 12.
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  for (const block of blocks.filter((b) => b.mode === 'run')) {
    it(`docs/${block.guide}, block at line ${block.line}, runs offline and passes its checks`, () => {
      const out = runProgram(join(blockDir, fileOf(block)));
      expect(out.status, report(out)).toBe(0);
    });
  }

  for (const block of blocks.filter((b) => b.mode === 'vitest')) {
    it(`docs/${block.guide}, test file at line ${block.line}, passes under vitest`, () => {
      const out = runVitest(fileOf(block));
      expect(out.status, report(out)).toBe(0);
      // Every test of the file passed: none failed, none was skipped.
      expect(out.stdout).toMatch(/Tests\s+(\d+) passed \(\1\)/);
    });
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchorsOf = (text: string) =>
  new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!.replace(/`/g, '').trim())));

describe('links between the README and the guides', () => {
  it('point at files and headings that exist', () => {
    const pages = ['README.md', ...guides.map((g) => `docs/${g}`)];
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http:, mailto:
        const [file, anchor] = target!.split('#');
        const path = file ? join(root, page, '..', file) : join(root, page);
        let linked: string;
        try {
          linked = readFileSync(path, 'utf8');
        } catch {
          if (!anchor && existsSync(path)) continue; // a folder, such as docs/
          broken.push(`${page}: ${target}`);
          continue;
        }
        if (anchor && !anchorsOf(linked).has(anchor)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  it('is the reference generated from ConfigSchema (run `npm run docs:config` after changing the schema)', () => {
    expect(readFileSync(join(docsDir, 'configuration.md'), 'utf8')).toBe(configReference());
  });

  it('names an environment variable that really sets each field it lists one for', () => {
    const fields = configFields().filter((f) => f.env.length > 0);
    expect(fields.length).toBeGreaterThan(20);
    for (const field of fields) {
      for (const name of field.env) {
        // Either the value lands in the field, or the error names the field and this variable.
        const reached = ['7', 'true'].some((value) => {
          try {
            return valueOf(loadConfig({}, { [name]: value }), field.key) !== valueOf(loadConfig({}, {}), field.key);
          } catch (error) {
            return String((error as Error).message).includes(`${field.key} (from ${name})`);
          }
        });
        expect(reached, `${name} should set ${field.key}`).toBe(true);
      }
    }
  });
});
