import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import type { CadreEvent, PlanGraphInfo } from '../core/index.js';

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

interface TaskRow {
  id: string;
  role: string;
  title: string;
  status: 'waiting' | 'running' | 'done' | 'failed' | 'skipped';
  model?: string;
  attempt: number;
  startedAt?: number;
  durationMs?: number;
  tokens: number;
}

const marks: Record<TaskRow['status'], string> = {
  waiting: pc.dim('·'),
  running: pc.cyan('▸'),
  done: pc.green('✓'),
  failed: pc.red('✗'),
  skipped: pc.yellow('-'),
};

/**
 * Shows a run as it happens: the plan as a graph, one permanent line per notable step (tool calls,
 * failures, reflections), the final task's reply as it streams (`model.delta`), and on a terminal a
 * live table of tasks (status, role, model, time, tokens) kept at the bottom and redrawn as tasks
 * start and finish.
 */
export class ProgressView {
  private readonly live;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly tasks = new Map<string, TaskRow>();
  private frame = 0;
  /** The task the run's answer comes from: the plan's only task nothing else builds on. */
  private finalTask: string | undefined;
  /** The step whose text is being written out as it streams; the live table waits meanwhile. */
  private streaming: { step: number; text: string } | undefined;
  /** While paused (e.g. a prompt is open) the live table is not redrawn. */
  paused = false;
  /** The final task's last reply that streamed whole onto the screen, so the summary need not repeat it. */
  streamedAnswer: string | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.live = out.isTTY ? createLogUpdate(out) : undefined;
    this.timer = this.live ? setInterval(() => this.render(), 100) : undefined;
  }

  /** Takes one event and shows what a person wants to see of it. */
  handle(event: CadreEvent): void {
    const row = 'taskId' in event ? this.tasks.get(event.taskId) : undefined;
    const who = 'taskId' in event ? pc.dim(`[${event.taskId}]`) : '';
    switch (event.type) {
      case 'run.started':
      case 'run.resumed':
        this.print(
          `${pc.bold('cadre')} ${pc.dim(event.runId)}${event.type === 'run.resumed' ? pc.yellow(' resumed') : ''}\n${pc.bold('goal')}  ${event.goal}`,
        );
        break;
      case 'plan.created':
      case 'plan.revised': {
        this.setPlan(event.graph);
        const title =
          event.type === 'plan.revised'
            ? `plan revised after ${event.failedTaskId} failed`
            : event.reusedFrom
              ? 'plan (reused: it worked for the same goal before)'
              : 'plan';
        this.print(
          `${pc.bold(title)} ${pc.dim('(tasks with the same number run in parallel)')}\n${renderPlan(event.graph)}`,
        );
        break;
      }
      case 'plan.revision_failed':
        this.print(pc.red(`no new plan after ${event.failedTaskId} failed: ${oneLine(event.error.message, 100)}`));
        break;
      case 'plan.approval':
        this.print(`${pc.bold('approval')} ${event.decision}${event.reason ? ` (${event.reason})` : ''}`);
        break;
      case 'task.started':
        if (row) Object.assign(row, { status: 'running', startedAt: event.ts, attempt: event.attempt ?? 1 });
        break;
      case 'model.routed':
        if (row) row.model = `${event.provider}:${event.model}`;
        // A first choice is shown with its reason; a change of model mid-task stands out.
        if (event.change)
          this.print(
            `  ${who} ${pc.yellow(`${event.change} -> ${event.provider}:${event.model}`)} ${pc.dim(oneLine(event.reason, 100))}`,
          );
        else this.print(`  ${who} ${pc.dim(`model ${oneLine(event.reason, 110)}`)}`);
        break;
      case 'model.delta':
        if (event.taskId === this.finalTask && event.text) this.streamText(event.step, event.text);
        break;
      case 'model.response':
        if (this.streaming && event.taskId === this.finalTask) this.endStream(event.step, event.content);
        if (!row) break; // planning calls: the plan itself is shown when it is made
        row.tokens += event.usage.totalTokens;
        for (const call of event.toolCalls)
          this.print(
            `  ${who} ${pc.cyan(call.name)}(${oneLine(JSON.stringify(call.args), 60)})${event.replayed ? pc.dim(' · replayed') : ''}`,
          );
        break;
      case 'tool.result':
        if (!event.ok)
          this.print(
            `  ${who} ${pc.red('✗')} ${pc.cyan(event.tool)} ${pc.red(oneLine(event.error?.message ?? event.output))}`,
          );
        break;
      case 'task.completed':
        if (row) Object.assign(row, { status: 'done', durationMs: row.startedAt ? event.ts - row.startedAt : 0 });
        // A task that answered although tools failed says so: its answer may rest on less than it claims.
        this.print(
          `${marks.done} ${event.taskId}${event.toolErrors ? pc.yellow(` (${event.toolErrors} tool call${event.toolErrors > 1 ? 's' : ''} failed)`) : ''} ${pc.dim(oneLine(event.answer, 90))}`,
        );
        break;
      case 'task.failed':
        if (row) Object.assign(row, { status: event.willRetry ? 'running' : 'failed' });
        this.print(
          `${marks.failed} ${event.taskId} ${pc.red(`attempt ${event.attempt ?? 1} failed: ${oneLine(event.error.message, 90)}`)}${event.willRetry ? pc.yellow(' → retrying') : ''}`,
        );
        break;
      case 'task.reflected':
        this.print(
          `${pc.yellow('↻')} ${event.taskId} attempt ${event.attempt} failed its check: ${oneLine(event.feedback, 70)}\n  ${pc.dim('lesson:')} ${oneLine(event.lesson, 90)}`,
        );
        break;
      case 'memory.recalled': {
        const what =
          event.kind === 'lessons'
            ? `lesson${event.items.length === 1 ? '' : 's'} from earlier attempts`
            : `item${event.items.length === 1 ? '' : 's'} from memory`;
        this.print(`${pc.magenta('◆')} ${event.taskId} recalled ${event.items.length} ${what}`);
        for (const item of event.items.slice(0, 2)) this.print(`  ${pc.dim(oneLine(item, 110))}`);
        break;
      }
      case 'memory.written':
        if (event.kind === 'plan') this.print(`${pc.magenta('◆')} the plan is saved for similar goals`);
        break;
      case 'task.skipped':
        if (row) row.status = 'skipped';
        this.print(`${marks.skipped} ${event.taskId} ${pc.yellow(`skipped: ${event.reason}`)}`);
        break;
      case 'task.delegated':
        this.print(`  ${who} asks ${pc.bold(event.role)}: ${oneLine(event.question, 80)}`);
        break;
      case 'tool.approval_requested':
        this.print(
          `  ${who} ${pc.yellow('waiting for approval:')} ${pc.cyan(event.tool)}(${oneLine(JSON.stringify(event.args), 60)}) ${pc.dim(`(${event.effects})`)}`,
        );
        break;
      case 'tool.approval':
        this.print(`${pc.bold('approval')} ${event.tool} ${event.decision}${event.reason ? ` (${event.reason})` : ''}`);
        break;
      case 'mcp.elicitation_requested':
        this.print(`  ${who} ${pc.yellow(`waiting for an answer to ${event.server}:`)} ${oneLine(event.message, 80)}`);
        break;
      case 'mcp.elicitation_answered':
        this.print(`${pc.bold('answer')} to ${event.server}: ${event.action === 'accept' ? 'accepted' : 'declined'}`);
        break;
      case 'tool.quarantined':
        this.print(
          pc.red(
            `quarantined ${event.tool}: its ${event.changes.join(' and ')} changed since it was approved (cadre mcp approve ${event.tool})`,
          ),
        );
        break;
      case 'mcp.server':
        if (event.state === 'failed')
          this.print(pc.red(`MCP server ${event.server} failed: ${event.error?.message ?? 'unknown error'}`));
        break;
      case 'budget.exceeded':
        this.print(pc.yellow(`budget exceeded: ${event.limit} ${event.used} of ${event.max}`));
        break;
      case 'run.cancelled':
        this.print(pc.yellow(`stopped: ${event.reason}`));
        break;
      case 'run.completed':
        this.stop();
        break;
      default:
        break;
    }
  }

  /** Prints a permanent line above the live table. */
  print(line: string): void {
    if (this.streaming) this.closeStreamLine();
    if (!this.paused) this.live?.clear();
    this.out.write(`${line}\n`);
    this.render();
  }

  // Text goes out as it arrives, after a heading on the step's first piece; the table is cleared
  // first and not redrawn until the reply is whole, so the two never overwrite each other.
  private streamText(step: number, text: string): void {
    if (this.streaming?.step !== step) {
      if (this.streaming) this.closeStreamLine();
      if (!this.paused) this.live?.clear();
      this.out.write(`\n${pc.bold('answer')}\n`);
      this.streaming = { step, text: '' };
    }
    this.streaming.text += text;
    this.out.write(text);
  }

  /** The streamed reply is whole: a reply that called no tool is the task's answer, on screen. */
  private endStream(step: number, content: string): void {
    const streamed = this.streaming?.step === step && this.streaming.text === content;
    this.closeStreamLine();
    this.streamedAnswer = streamed ? content : undefined;
  }

  private closeStreamLine(): void {
    if (this.streaming && !this.streaming.text.endsWith('\n')) this.out.write('\n');
    this.streaming = undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.live?.clear();
    this.live?.done();
  }

  private setPlan(graph: PlanGraphInfo): void {
    for (const task of graph.tasks) {
      const kept = this.tasks.get(task.id);
      this.tasks.set(
        task.id,
        kept && kept.status === 'done'
          ? kept
          : { id: task.id, role: task.role, title: task.title, status: 'waiting', attempt: 0, tokens: 0 },
      );
    }
    for (const id of this.tasks.keys()) if (!graph.tasks.some((t) => t.id === id)) this.tasks.delete(id);
    // With several such tasks the answer joins them all, and their replies could interleave: none streams.
    const sinks = graph.tasks.filter((t) => !graph.tasks.some((other) => other.dependsOn.includes(t.id)));
    this.finalTask = sinks.length === 1 ? sinks[0]!.id : undefined;
  }

  private render(): void {
    if (!this.live || !this.timer || this.paused || this.streaming) return;
    this.frame = (this.frame + 1) % spinner.length;
    const now = Date.now();
    const rows = [...this.tasks.values()].map((t) => {
      const mark = t.status === 'running' ? pc.cyan(spinner[this.frame]!) : marks[t.status];
      const ms = t.durationMs ?? (t.startedAt && t.status === 'running' ? now - t.startedAt : undefined);
      const time = ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`;
      const attempt = t.attempt > 1 ? pc.yellow(` try ${t.attempt}`) : '';
      return ` ${mark} ${t.id.padEnd(14)} ${pc.dim(t.role.padEnd(10))} ${(t.model ?? '').padEnd(22)} ${time.padStart(6)} ${String(t.tokens || '').padStart(6)}${attempt}`;
    });
    this.live(rows.join('\n'));
  }
}

/** The plan layer by layer: which tasks start at once and what each waits for. */
export function renderPlan(graph: PlanGraphInfo): string {
  const level = new Map<string, number>();
  const depth = (id: string, seen = new Set<string>()): number => {
    if (level.has(id)) return level.get(id)!;
    const task = graph.tasks.find((t) => t.id === id);
    if (!task || seen.has(id)) return 0;
    seen.add(id);
    const value = task.dependsOn.length ? 1 + Math.max(...task.dependsOn.map((d) => depth(d, seen))) : 0;
    level.set(id, value);
    return value;
  };
  const layers: string[][] = [];
  for (const task of graph.tasks) {
    const deps = task.dependsOn.length ? pc.dim(` ← ${task.dependsOn.join(', ')}`) : '';
    (layers[depth(task.id)] ??= []).push(`${task.id} ${pc.dim(`[${task.role}]`)} ${task.title}${deps}`);
  }
  return layers
    .map((items, i) => items.map((item) => `  ${pc.bold(String(i + 1).padStart(2))}  ${item}`).join('\n'))
    .join('\n');
}
