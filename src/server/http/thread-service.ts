import { setTimeout as sleep } from 'node:timers/promises';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError, createId, loadConfig, type CadreConfigInput, type CadreEvent } from '../../core/index.js';
import type { ModelRouter } from '../../models/router.js';
import type { RunHandle, RunRecord, RunState } from '../../runtime/index.js';
import type {
  DoubleTextPolicy,
  RunsAndEvents,
  ThreadMessage,
  ThreadRecord,
  ThreadRecords,
} from '../../runtime/store/index.js';
import { hasEntry, type CadreApp, type TeamSettings } from '../../app/index.js';
import type { Caller } from './api-key-auth.js';
import type { RunService } from './run-service.js';
import { threadGoal, threadHistory } from './thread-context.js';

/** What a caller gives to open a thread. */
export interface CreateThreadInput {
  team?: string;
  agent?: string;
  /** Default `enqueue`. */
  policy?: DoubleTextPolicy;
  metadata?: Record<string, unknown>;
  /** Tokens the earlier turns may take in each run's context; default the service's. */
  contextTokens?: number;
}

/** A message as admitted: started at once (`handle`), or queued behind the thread's running turn. */
export interface PostedMessage {
  message: ThreadMessage;
  /** The run that answers the message; for a queued message, the id it will have once it starts. */
  runId: string;
  handle?: RunHandle;
  queued: boolean;
}

/** A thread with its messages and the runs they started. */
export interface ThreadDetail {
  thread: ThreadRecord;
  messages: ThreadMessage[];
  runs: RunRecord[];
}

/** Statuses of a run that is still going, or may still be resumed and go on. */
const unfinished: ReadonlySet<RunState> = new Set(['running', 'awaiting_approval', 'interrupted']);

/**
 * Conversations over the runs API: each user message starts a run of the thread's team (through
 * the same RunService as `POST /runs`) whose goal holds the earlier turns within the thread's
 * window, and a message that arrives while the previous run is going follows the thread's
 * double-texting policy. The thread's own messages are the source of truth: a reply is written from
 * the run's record once the run ended, whichever process carried it out.
 */
export class ThreadService {
  readonly threads: ThreadRecords;
  /** One admission at a time per thread, so two messages cannot both start a run. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly watched = new Set<string>();

  constructor(
    private readonly options: {
      app: CadreApp;
      config: CadreConfigInput;
      /** Where threads are: the embedded file or PostgreSQL. */
      threads: ThreadRecords;
      /** Where runs are: the embedded file or PostgreSQL. */
      runStore: RunsAndEvents;
      runs: RunService;
      pollMs: number;
      /** The window of a thread that does not choose one. Default 4096. */
      contextTokens?: number;
    },
  ) {
    this.threads = options.threads;
  }

  /** Opens a thread owned by `caller`; `team_not_found` for a name the registry lacks. */
  async create(input: CreateThreadInput, caller: Caller): Promise<ThreadRecord> {
    const entry = input.team !== undefined ? { team: input.team } : { agent: input.agent ?? '' };
    if ((input.team === undefined) === (input.agent === undefined))
      throw new CadreError('input_invalid', 'Name either a `team` or an `agent` for the thread');
    if (!hasEntry(this.options.app, entry))
      throw new CadreError(
        'team_not_found',
        `No ${input.team !== undefined ? 'team' : 'agent'} "${input.team ?? input.agent}" is registered`,
      );
    const contextTokens = input.contextTokens ?? this.options.contextTokens ?? 4096;
    if (!Number.isInteger(contextTokens) || contextTokens < 16)
      throw new CadreError('input_invalid', 'contextTokens must be a whole number of at least 16');
    return await this.threads.create({
      ownerKey: caller.keyId,
      ...(caller.user !== undefined ? { ownerUser: caller.user } : {}),
      ...entry,
      policy: input.policy ?? 'enqueue',
      contextTokens,
      metadata: input.metadata ?? {},
    });
  }

  /** The thread when `caller` may see it; `not_found` otherwise, so ids cannot be probed. */
  async get(threadId: string, caller: Caller): Promise<ThreadRecord> {
    const thread = await this.threads.get(threadId);
    if (!thread || !visible(thread, caller)) throw new CadreError('not_found', `No thread ${threadId}`);
    return thread;
  }

  /** The thread with its messages and runs, replies of runs that ended written first. */
  async detail(threadId: string, caller: Caller): Promise<ThreadDetail> {
    await this.get(threadId, caller);
    await this.exclusive(threadId, () => this.advance(threadId));
    const thread = (await this.threads.get(threadId))!;
    const messages = await this.threads.messages(threadId);
    const ids = [...new Set(messages.flatMap((m) => (m.runId && m.role === 'user' ? [m.runId] : [])))];
    const runs = (await Promise.all(ids.map((id) => this.options.runStore.runs.get(id)))).flatMap((r) => r ?? []);
    return { thread, messages, runs };
  }

  /** The caller's threads, newest first. */
  list(caller: Caller, page: { limit: number; before?: number }): Promise<ThreadRecord[]> {
    return this.threads.list({
      ...(caller.admin ? {} : { key: caller.keyId }),
      ...(caller.user !== undefined ? { user: caller.user } : {}),
      ...page,
    });
  }

  /**
   * Admits a user message: it starts a run at once, or, while the thread's previous run is going,
   * follows `policy` (default the thread's): `reject` (`run_conflict`), `enqueue` (runs after it),
   * `interrupt` (stops it at its next step, keeps its partial turn, then starts) or `rollback`
   * (stops it, drops its turn, then starts). The message and its run are committed before this resolves.
   */
  async post(
    threadId: string,
    input: { text: string; policy?: DoubleTextPolicy },
    caller: Caller,
  ): Promise<PostedMessage> {
    const thread = await this.get(threadId, caller);
    const policy = input.policy ?? thread.policy;
    return this.exclusive(threadId, async () => {
      let active = await this.settle(thread);
      if (active && policy === 'reject')
        throw new CadreError(
          'run_conflict',
          `Thread ${threadId} is still answering its previous message (run ${active.runId}); send again once it ends, or use another policy`,
        );
      if (active && (policy === 'interrupt' || policy === 'rollback')) {
        await this.stop(active, policy);
        active = await this.settle(thread);
      }
      const waiting =
        active !== undefined || (await this.threads.messages(threadId)).some((m) => m.status === 'queued');
      if (waiting && policy !== 'interrupt' && policy !== 'rollback') {
        const message = await this.threads.append(threadId, {
          role: 'user',
          text: input.text,
          runId: createId('run'),
          status: 'queued',
        });
        return { message, runId: message.runId!, queued: true };
      }
      const message = await this.threads.append(threadId, {
        role: 'user',
        text: input.text,
        runId: createId('run'),
        status: 'started',
      });
      const handle = await this.startTurn(thread, message);
      return { message, runId: handle.runId, handle, queued: false };
    });
  }

  /**
   * The events of a thread's run from `fromSeq`, as `RunService.events`; for a queued message, once
   * its run starts (ends at once if it never can).
   */
  async *events(threadId: string, runId: string, signal: AbortSignal): AsyncGenerator<CadreEvent, void, undefined> {
    const { runs, runStore, pollMs } = this.options;
    while (!signal.aborted) {
      if (runs.handle(runId) || (await runStore.runs.get(runId))) return yield* runs.events(runId, 1, signal);
      const message = (await this.threads.messages(threadId)).find((m) => m.runId === runId && m.role === 'user');
      if (message?.status !== 'queued') return;
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Picks up every thread a stopped server left unsettled: replies of runs that ended meanwhile are
   * written, a turn whose run is going again (re-driven) is followed, and the next queued message
   * starts once none is going, so no message stays queued forever. Returns the threads looked at.
   */
  async redrive(): Promise<string[]> {
    const unsettled = await this.threads.unsettled();
    for (const threadId of unsettled)
      await this.exclusive(threadId, () => this.advance(threadId)).catch(() => undefined);
    return unsettled;
  }

  /** Writes the replies of runs that ended and starts the next queued message when none is going. */
  private async advance(threadId: string): Promise<void> {
    const thread = (await this.threads.get(threadId))!;
    for (;;) {
      if (await this.settle(thread)) return;
      const next = (await this.threads.messages(threadId)).find((m) => m.role === 'user' && m.status === 'queued');
      if (!next) return;
      // Another process (a second server on this database) is starting it: the thread is its to advance.
      if (!(await this.threads.claim(threadId, next.seq))) return;
      try {
        await this.startTurn(thread, { ...next, status: 'started' });
        return;
      } catch (error) {
        // Shutting down: it stays queued for the next start. Anything else: it cannot run, the next may.
        const closing = CadreError.isInstance(error) && error.code === 'unavailable';
        await this.threads.setStatus(threadId, next.seq, closing ? 'queued' : 'failed');
        if (closing) return;
      }
    }
  }

  /**
   * Brings the thread's messages up to date with its runs: writes the reply of each run that ended,
   * puts back in the queue a message whose run was never committed (the process died in between),
   * and returns the message whose run is still going, if any.
   */
  private async settle(thread: ThreadRecord): Promise<ThreadMessage | undefined> {
    const messages = await this.threads.messages(thread.id);
    const answered = new Set(messages.flatMap((m) => (m.role === 'assistant' && m.runId ? [m.runId] : [])));
    let active: ThreadMessage | undefined;
    for (const message of messages) {
      if (message.role !== 'user' || message.status !== 'started' || !message.runId || answered.has(message.runId))
        continue;
      const handle = this.options.runs.handle(message.runId);
      const record = await this.options.runStore.runs.get(message.runId);
      if (handle) this.watch(thread.id, handle);
      if (!record && !handle) await this.threads.setStatus(thread.id, message.seq, 'queued');
      else if (handle || unfinished.has(record!.status)) active = message;
      else await this.threads.append(thread.id, { role: 'assistant', ...(await this.reply(record!)) });
    }
    return active;
  }

  /** Stops the thread's running turn and waits for it; a rolled-back turn leaves the history. */
  private async stop(active: ThreadMessage, policy: 'interrupt' | 'rollback'): Promise<void> {
    const handle = this.options.runs.handle(active.runId!);
    if (!handle)
      throw new CadreError(
        'run_conflict',
        `The thread's running turn (run ${active.runId}) is not carried out by this process; it cannot be ${policy === 'interrupt' ? 'interrupted' : 'rolled back'} here`,
      );
    handle.cancel(policy === 'interrupt' ? 'interrupted by a new message' : 'rolled back by a new message');
    await handle.result;
    if (policy === 'rollback') await this.threads.setStatus(active.threadId, active.seq, 'rolled_back');
  }

  /** Starts the run of a user message: its goal is the message after the earlier turns, within the window. */
  private async startTurn(thread: ThreadRecord, message: ThreadMessage): Promise<RunHandle> {
    try {
      const current = (await this.threads.get(thread.id))!;
      const history = await threadHistory({
        store: this.threads,
        thread: current,
        messages: await this.threads.messages(thread.id),
        summariser: () => this.summariser(current),
      });
      const entry = current.team !== undefined ? { team: current.team } : { agent: current.agent! };
      const owner: Caller = {
        keyId: current.ownerKey,
        admin: false,
        ...(current.ownerUser !== undefined ? { user: current.ownerUser } : {}),
      };
      const handle = await this.options.runs.start(
        {
          ...entry,
          goal: threadGoal(history, message.text),
          metadata: { threadId: thread.id, messageId: message.id },
          runId: message.runId!,
        },
        owner,
      );
      this.watch(thread.id, handle);
      return handle;
    } catch (error) {
      if (!(CadreError.isInstance(error) && error.code === 'unavailable'))
        await this.threads.setStatus(thread.id, message.seq, 'failed');
      throw error;
    }
  }

  /** Once the run ends, writes its reply and starts the thread's next queued message. */
  private watch(threadId: string, handle: RunHandle): void {
    if (this.watched.has(handle.runId)) return;
    this.watched.add(handle.runId);
    void handle.result.then(() => {
      this.watched.delete(handle.runId);
      return this.exclusive(threadId, () => this.advance(threadId)).catch(() => undefined);
    });
  }

  /** The reply a run's record gives: its answer, or what it did before it stopped. */
  private async reply(record: RunRecord): Promise<{ text: string; runId: string; status: string }> {
    const result = (record.result ?? {}) as { answer?: string | null; error?: { message?: string } };
    const text =
      result.answer ?? partialTurn(await this.options.runStore.events.read(record.id)) ?? result.error?.message ?? '';
    return { text, runId: record.id, status: record.status };
  }

  /** The model that folds a thread's old turns: its team's router or model, when it names one. */
  private async summariser(thread: ThreadRecord): Promise<BaseChatModel | ModelRouter | undefined> {
    const { app, config } = this.options;
    const name = thread.team ?? thread.agent!;
    const definition = thread.team !== undefined ? app.teams.get(name) : app.agents.get(name);
    if (definition === undefined) return undefined;
    const settings: TeamSettings =
      typeof definition === 'function' ? await definition({ config: loadConfig(config), name }) : definition;
    return settings.router ?? settings.model;
  }

  private exclusive<T>(threadId: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(threadId) ?? Promise.resolve();
    const next = before.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(threadId, settled);
    void settled.then(() => {
      if (this.locks.get(threadId) === settled) this.locks.delete(threadId);
    });
    return next;
  }
}

/** Whether `caller` may see a thread: its own key's (any key's for an admin), and its own user's when it names one. */
export function visible(thread: ThreadRecord, caller: Caller): boolean {
  if (!caller.admin && thread.ownerKey !== caller.keyId) return false;
  return caller.user === undefined || thread.ownerUser === caller.user;
}

/** What a stopped run did, from its events: finished tasks' answers, else its models' words and tool results. */
function partialTurn(events: readonly CadreEvent[]): string | undefined {
  const answers = events.flatMap((e) => (e.type === 'task.completed' ? [e.answer] : []));
  if (answers.length) return answers.join('\n\n');
  const steps = events.flatMap((e) => {
    if (e.type === 'model.response' && e.content.trim()) return [e.content.trim()];
    if (e.type === 'tool.result') return [`[${e.tool}] ${e.output.slice(0, 500)}`];
    return [];
  });
  return steps.length ? steps.join('\n') : undefined;
}
