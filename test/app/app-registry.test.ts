import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CadreError,
  defineApp,
  loadApp,
  openCadreStore,
  resume,
  resumeNamed,
  run,
  runNamed,
  type CadreApp,
} from 'cadre';
import { chainTeam } from '../fixtures/cadre-app.js';

const fixtureApp = fileURLToPath(new URL('../fixtures/cadre-app.ts', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'cadre-app-'));
const storeAt = (dir: string) => ({ databasePath: join(dir, 'cadre.db') });
const storeIn = (dir: string) => openCadreStore({ path: join(dir, 'cadre.db') });

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (CadreError.isInstance(error)) return error.code;
    throw error;
  }
  throw new Error('expected a CadreError');
}

describe('defineApp', () => {
  it('registers teams and agents by name', () => {
    const app = defineApp({
      teams: { chain: chainTeam() },
      agents: { one: { agent: { name: 'one', instructions: 'x' } } },
    });
    expect([...app.teams.keys()]).toEqual(['chain']);
    expect([...app.agents.keys()]).toEqual(['one']);
  });

  it('rejects a malformed registry with app_invalid, naming the fault', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /takes an object/],
      [{ team: {} }, /did you mean "teams"/],
      [{ teams: [] }, /must be an object/],
      [{ teams: { 'bad name!': {} } }, /a name is/],
      [{ teams: { a: { rolez: [] } } }, /did you mean "roles"/],
      [{ teams: { a: 42 } }, /run options or a function/],
      [{ agents: { a: { model: undefined } } }, /needs an `agent`/],
      [
        { teams: { same: {} }, agents: { same: { agent: { name: 'x', instructions: 'y' } } } },
        /both a team and an agent/,
      ],
    ];
    for (const [definition, message] of cases) {
      let caught: unknown;
      try {
        defineApp(definition as never);
      } catch (error) {
        caught = error;
      }
      expect(CadreError.isInstance(caught) && caught.code, JSON.stringify(definition)).toBe('app_invalid');
      expect((caught as Error).message).toMatch(message);
    }
  });
});

describe('loadApp', () => {
  it('has the built-in demo team when the folder has no app module', async () => {
    const app = await loadApp({ cwd: tmp(), env: {} });
    expect([...app.teams.keys()]).toEqual(['demo']);
  });

  it('loads the named module and keeps the demo team next to its own', async () => {
    const app = await loadApp({ path: fixtureApp, env: {} });
    expect([...app.teams.keys()].sort()).toEqual(['chain', 'demo', 'gated']);
    expect([...app.agents.keys()]).toEqual(['echo']);
  });

  it('finds cadre.app.mjs in the working folder, and CADRE_APP wins over it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cadre.app.mjs'), 'export default 1;\n');
    expect(await codeOf(loadApp({ cwd: dir, env: {} }))).toBe('app_invalid');
    const app = await loadApp({ cwd: dir, env: { CADRE_APP: fixtureApp } });
    expect(app.teams.has('chain')).toBe(true);
  });

  it('says app_not_found for a named module that is missing, app_invalid for one that is broken', async () => {
    const dir = tmp();
    expect(await codeOf(loadApp({ path: join(dir, 'nope.mjs'), env: {} }))).toBe('app_not_found');
    expect(await codeOf(loadApp({ cwd: dir, env: { CADRE_APP: 'missing.mjs' } }))).toBe('app_not_found');
    const broken = {
      'syntax.mjs': 'export default {',
      'throws.mjs': "throw new Error('boom at load');",
      'plain.mjs': 'export default { teams: {} };',
      'nothing.mjs': 'export const x = 1;',
    };
    for (const [file, source] of Object.entries(broken)) {
      writeFileSync(join(dir, file), source);
      let caught: unknown;
      await loadApp({ path: join(dir, file), env: {} }).catch((error: unknown) => (caught = error));
      expect(CadreError.isInstance(caught) && caught.code, file).toBe('app_invalid');
      expect((caught as Error).message, file).toContain(join(dir, file));
    }
  });
});

describe('runNamed', () => {
  const app: CadreApp = defineApp({ teams: { chain: () => chainTeam({ tasks: 2, latencyMs: 0 }) } });

  it('records the team name and metadata with the run', async () => {
    const dir = tmp();
    const handle = await runNamed({
      app,
      team: 'chain',
      goal: 'two tasks',
      config: storeAt(dir),
      metadata: { who: 't' },
    });
    const settings = storeIn(dir).runs.get(handle.runId)!.settings!;
    expect(settings.app).toEqual({ team: 'chain' });
    expect(settings.metadata).toEqual({ who: 't' });
    expect((await handle.result).status).toBe('completed');
  });

  it('refuses an unknown team with team_not_found and stores nothing', async () => {
    const dir = tmp();
    let made = 0;
    const counting = defineApp({ teams: { real: () => (made++, chainTeam()) } });
    expect(await codeOf(runNamed({ app: counting, team: 'ghost', goal: 'x', config: storeAt(dir) }))).toBe(
      'team_not_found',
    );
    expect(await codeOf(runNamed({ app: counting, agent: 'real', goal: 'x', config: storeAt(dir) }))).toBe(
      'team_not_found',
    );
    expect(await codeOf(runNamed({ app: counting, team: 'real', agent: 'x', goal: 'x', config: storeAt(dir) }))).toBe(
      'input_invalid',
    );
    expect(made).toBe(0);
    expect(storeIn(dir).runs.list()).toEqual([]);
  });

  it('lets a caller lower a budget but never raise it, and keeps the limit for resumes', async () => {
    const dir = tmp();
    const capped = defineApp({
      teams: { chain: () => ({ ...chainTeam({ tasks: 2, latencyMs: 0 }), config: { maxSteps: 3 } }) },
    });
    const raised = await runNamed({
      app: capped,
      team: 'chain',
      goal: 'g',
      config: storeAt(dir),
      budget: { maxSteps: 50 },
    });
    expect((await raised.result).status).toBe('budget_exceeded');
    const record = storeIn(dir).runs.get(raised.runId)!;
    expect(record.settings!.app).toEqual({ team: 'chain', config: { maxSteps: 3 } });
    // The same team with no cap of its own needs four model calls; the caller allows two.
    const lowered = await runNamed({ app, team: 'chain', goal: 'g', config: storeAt(dir), budget: { maxSteps: 2 } });
    const result = await lowered.result;
    expect(result.status).not.toBe('completed');
    expect(result.steps).toBeLessThanOrEqual(2);
    expect(storeIn(dir).runs.get(lowered.runId)!.settings!.app).toEqual({
      team: 'chain',
      config: { maxSteps: 2 },
    });
    expect(
      await codeOf(runNamed({ app, team: 'chain', goal: 'g', config: storeAt(dir), budget: { maxSteps: -1 } })),
    ).toBe('input_invalid');
  });

  it('will not resume a run started by name with some other team, nor with none', async () => {
    const dir = tmp();
    const gated = defineApp({
      teams: { gated: () => ({ ...chainTeam({ tasks: 2, latencyMs: 0 }), approvePlan: true }) },
    });
    const handle = await runNamed({ app: gated, team: 'gated', goal: 'g', config: storeAt(dir) });
    expect((await handle.result).status).toBe('awaiting_approval');
    expect(await codeOf(() => resume(handle.runId, { config: storeAt(dir), decision: { action: 'approve' } }))).toBe(
      'input_invalid',
    );
    const plain = run({ goal: 'not named', ...chainTeam({ tasks: 1, latencyMs: 0 }), config: storeAt(dir) });
    await plain.result;
    expect(await codeOf(resumeNamed(plain.runId, { app: gated, config: storeAt(dir) }))).toBe('input_invalid');
    const resumed = await resumeNamed(handle.runId, {
      app: gated,
      config: storeAt(dir),
      decision: { action: 'approve' },
    });
    const result = await resumed.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.map((t) => t.taskId)).toEqual(['t1', 't2']);
  });
});
