import pc from 'picocolors';
import { CadreError, loadConfig, type CadreConfigInput } from '../core/index.js';
import { configuredThreadRecords, type ThreadRecords } from '../runtime/store/index.js';

/** The threads where the config keeps its runs: the embedded file, or PostgreSQL. */
const threadsFor = (input: CadreConfigInput): ThreadRecords => configuredThreadRecords(loadConfig(input));

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text.replaceAll('\n', ' '));

/** `cadre threads`: every key's threads, newest first (this is the machine's own view, not an API caller's). */
export async function listThreads(options: {
  config: CadreConfigInput;
  json: boolean;
  limit: number;
}): Promise<number> {
  const store = threadsFor(options.config);
  const threads = await store.list({ limit: options.limit });
  for (const t of threads) {
    const messages = (await store.messages(t.id)).length;
    if (options.json) {
      const { ownerKey, ownerUser, ...rest } = t;
      process.stdout.write(
        `${JSON.stringify({ ...rest, key: ownerKey, ...(ownerUser ? { user: ownerUser } : {}), messages })}\n`,
      );
    } else {
      const who = t.ownerUser ? `${t.ownerKey}/${t.ownerUser}` : t.ownerKey;
      process.stdout.write(
        `${t.id}  ${(t.team ?? t.agent ?? '').padEnd(12)}  ${String(messages).padStart(4)} msgs  ${pc.dim(when(t.updatedAt))}  ${who}\n`,
      );
    }
  }
  if (threads.length === 0 && !options.json) process.stdout.write('no threads yet\n');
  return 0;
}

/** `cadre threads show <id>`: the thread and its messages, in order. */
export async function showThread(options: { config: CadreConfigInput; id: string; json: boolean }): Promise<number> {
  const store = threadsFor(options.config);
  const thread = await store.get(options.id);
  if (!thread) throw new CadreError('not_found', `No thread ${options.id}`);
  const messages = await store.messages(thread.id);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...thread, messages })}\n`);
    return 0;
  }
  process.stdout.write(
    `${pc.bold(thread.id)}  ${thread.team ? `team ${thread.team}` : `agent ${thread.agent}`}  policy ${thread.policy}  window ${thread.contextTokens} tokens\n`,
  );
  if (thread.summary) process.stdout.write(`${pc.dim(`summary: ${short(thread.summary, 200)}`)}\n`);
  for (const m of messages) {
    const role = m.role === 'user' ? pc.cyan('user     ') : pc.green('assistant');
    const status = m.status === 'started' || m.status === 'completed' ? '' : pc.yellow(` [${m.status}]`);
    process.stdout.write(
      `${String(m.seq).padStart(3)} ${role}${status} ${short(m.text, 100)}  ${pc.dim(m.runId ?? '')}\n`,
    );
  }
  return 0;
}
