import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });

/** The README's TypeScript examples that stand alone (they import what they use). */
function readmeExamples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => /^import /m.test(code));
}

describe('the published package', () => {
  it('type-checks the README examples in a fresh strict TypeScript project that installed the packed tarball', () => {
    npm(['run', 'build'], root);
    const work = mkdtempSync(join(tmpdir(), 'cadre-pack-'));
    npm(['pack', '--pack-destination', work], root);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { cadre: `file:${tarball}`, typescript: '*' },
      }),
    );
    // Types only: native builds are not needed to type-check, and everything comes from the npm cache.
    npm(['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', '--loglevel=error'], work);
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(4);
    examples.forEach((code, i) => writeFileSync(join(work, `example-${i + 1}.ts`), `${code}\nexport {};\n`));
    const tsc = join(work, 'node_modules', 'typescript', 'bin', 'tsc');
    let output: string;
    try {
      output = execFileSync(process.execPath, [tsc, '-p', work], { cwd: work, encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 300_000);
});
