import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import type { CadreEvent } from '../core/index.js';

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const oneLine = (text: string, max = 100) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * Shows a run as it happens: one permanent line per step, tool call and result, and on a terminal
 * a live status line (spinner, what the run is waiting for, elapsed time) kept at the bottom.
 */
export class ProgressView {
  private readonly live;
  private readonly timer: NodeJS.Timeout | undefined;
  private status = 'starting';
  private frame = 0;
  private readonly started = Date.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.live = out.isTTY ? createLogUpdate(out) : undefined;
    this.timer = this.live ? setInterval(() => this.render(), 80) : undefined;
  }

  /** Takes one event and prints what a person wants to see of it. */
  handle(event: CadreEvent): void {
    switch (event.type) {
      case 'run.started':
        this.print(`${pc.bold('cadre')} ${pc.dim(event.runId)}\n${pc.bold('goal')}  ${event.goal}`);
        break;
      case 'model.routed':
        this.print(`${pc.bold('model')} ${event.provider}:${event.model} ${pc.dim(`(${event.reason})`)}`);
        this.status = 'waiting for the model';
        break;
      case 'model.response': {
        const calls = event.toolCalls.map((c) => `${pc.cyan(c.name)}(${oneLine(JSON.stringify(c.args), 60)})`);
        const what = calls.length ? `calls ${calls.join(', ')}` : 'answers';
        const meta = pc.dim(`${event.usage.totalTokens} tok · ${Math.round(event.latencyMs)} ms${event.replayed ? ' · replayed' : ''}`);
        this.print(`${pc.bold(`step ${event.step}`)} ${what} ${meta}`);
        this.status = calls.length ? `running ${calls.length} tool call${calls.length > 1 ? 's' : ''}` : 'finishing';
        break;
      }
      case 'tool.result': {
        const mark = event.ok ? pc.green('✓') : pc.red('✗');
        const text = event.ok ? oneLine(event.output) : pc.red(oneLine(event.error?.message ?? event.output));
        this.print(`   ${mark} ${pc.cyan(event.tool)} ${text} ${pc.dim(`${Math.round(event.durationMs)} ms${event.replayed ? ' · replayed' : ''}`)}`);
        this.status = 'waiting for the model';
        break;
      }
      case 'budget.exceeded':
        this.print(pc.yellow(`budget exceeded: ${event.limit} ${event.used} of ${event.max}`));
        break;
      case 'run.cancelled':
        this.print(pc.yellow(`cancelled: ${event.reason}`));
        break;
      case 'task.failed':
        this.print(pc.red(`failed: ${event.error.message}`));
        break;
      case 'run.completed':
        this.stop();
        break;
      default:
        break;
    }
  }

  /** Prints a permanent line above the live status. */
  print(line: string): void {
    this.live?.clear();
    this.out.write(`${line}\n`);
    this.render();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.live?.clear();
    this.live?.done();
  }

  private render(): void {
    if (!this.live || !this.timer) return;
    this.frame = (this.frame + 1) % spinner.length;
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.live(pc.dim(`${spinner[this.frame]} ${this.status} · ${seconds}s`));
  }
}
