import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';

type Counts = { passed: number; failed: number; skipped: number };

/** The outermost describe block of a test: the suite a whole conformance run sits in. */
function outerSuite(test: TestCase): string {
  let parent = test.parent;
  while (parent.type === 'suite' && parent.parent.type === 'suite') parent = parent.parent;
  return parent.type === 'suite' ? parent.name : test.module.relativeModuleId;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Prints, after vitest's own summary, one line per project (so cadre's tests and an upstream
 * conformance suite are counted apart) and one line per suite whose tests were skipped with a
 * reason (`context.skip(reason)`), e.g. a live-service suite whose URL is not set.
 */
export class ProjectSummaryReporter implements Reporter {
  private vitest: Vitest | undefined;

  /** `labels` maps a project name to how the summary names it. */
  constructor(private readonly labels: Record<string, string> = {}) {}

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const projects = new Map<string, Counts>();
    const skippedFor = new Map<string, { suite: string; reason: string; n: number }>();
    for (const module of testModules) {
      const counts = projects.get(module.project.name) ?? { passed: 0, failed: 0, skipped: 0 };
      projects.set(module.project.name, counts);
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'pending') continue;
        counts[result.state] += 1;
        if (result.state === 'skipped' && result.note) {
          const suite = outerSuite(test);
          const key = `${suite}\n${result.note}`;
          const entry = skippedFor.get(key) ?? { suite, reason: result.note, n: 0 };
          entry.n += 1;
          skippedFor.set(key, entry);
        }
      }
    }
    // Projects in the order the labels name them, then any others.
    const named = Object.keys(this.labels);
    const order = (name: string) => (named.includes(name) ? named.indexOf(name) : named.length);
    const lines = [...projects]
      .sort(([a], [b]) => order(a) - order(b))
      .map(([name, c]) => {
        const parts = [
          `${c.passed} passed`,
          ...(c.failed ? [`${c.failed} failed`] : []),
          ...(c.skipped ? [`${c.skipped} skipped`] : []),
        ];
        return `${this.labels[name] ?? (name || 'tests')}: ${parts.join(', ')}`;
      });
    for (const { suite, reason, n } of skippedFor.values())
      lines.push(`${suite}: ${plural(n, 'test')} skipped (${reason})`);
    if (lines.length > 0) this.vitest?.logger.log(lines.map((line) => ` ${line}`).join('\n'));
  }
}

/** For `--reporter=./test/reporters/project-summary.ts`: projects are then named as in the config. */
export default ProjectSummaryReporter;
