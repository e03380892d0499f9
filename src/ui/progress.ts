import ora, { type Ora } from 'ora';
import { formatDuration } from '../aws/clock.js';
import type { EngineEvent, EventSink, StepOutcome } from '../engine/events.js';
import { line, paint, type Io } from './io.js';

export interface Renderer {
  sink: EventSink;
  close(): void;
}

/** A renderer that can step aside while a question is open on the same terminal. */
export interface PausableRenderer extends Renderer {
  pause(): void;
  resume(): void;
}

export type RenderMode = 'tty' | 'plain' | 'json';

export interface RenderOptions {
  /** Times are the sandbox's (AWS's durations, compressed): say so next to each. */
  simulated: boolean;
  verbose: boolean;
}

/**
 * Picks the renderer for where the output goes: NDJSON, a live list on a terminal, or plain lines.
 * Every time shown comes from the events (`elapsedMs`): only the engine knows whose timeline a
 * step ran on, so a clock read here would be the wrong one in the sandbox.
 */
export function createRenderer(mode: 'tty', io: Io, options: RenderOptions): PausableRenderer;
export function createRenderer(mode: RenderMode, io: Io, options: RenderOptions): Renderer;
export function createRenderer(mode: RenderMode, io: Io, options: RenderOptions): Renderer {
  if (mode === 'json') return ndjson(io);
  if (mode === 'tty') return new LiveList(io, options);
  return plainLines(io, options);
}

const SYMBOL: Record<StepOutcome, string> = {
  done: '✔',
  verified: '✔',
  destroyed: '✔',
  retained: '◆',
  failed: '✖',
  stopped: '■',
};

function outcomeText(outcome: StepOutcome): string {
  return {
    done: 'done',
    verified: 'already done',
    destroyed: 'removed',
    retained: 'removed, data kept',
    failed: 'FAILED',
    stopped: 'stopped',
  }[outcome];
}

function timeNote(ms: number, { simulated }: Pick<RenderOptions, 'simulated'>): string {
  return simulated ? `${formatDuration(ms)} simulated` : formatDuration(ms);
}

/** One JSON object per line, for scripts and CI logs. */
function ndjson(io: Io): Renderer {
  return {
    sink: (event) => line(io.stdout, JSON.stringify(event)),
    close: () => undefined,
  };
}

/** A line per step start and finish, for logs and pipes. */
function plainLines(io: Io, options: RenderOptions): Renderer {
  const { verbose } = options;
  return {
    sink(event) {
      switch (event.type) {
        case 'step-started':
          line(io.stdout, `→ ${event.title}`);
          break;
        case 'step-progress':
          if (verbose) line(io.stdout, `  ${event.message}`);
          break;
        case 'resource':
          if (verbose) line(io.stdout, `  ${event.action} ${event.resource.type} ${event.resource.id}`);
          break;
        case 'step-finished':
          line(io.stdout, `${SYMBOL[event.outcome]} ${event.title}: ${outcomeText(event.outcome)} (${timeNote(event.elapsedMs, options)})`);
          if (event.error) line(io.stdout, `  ${event.error}`);
          break;
        case 'run-finished':
          line(io.stdout, `${event.ok ? 'Finished' : 'Stopped'} after ${timeNote(event.elapsedMs, options)}`);
          break;
        default:
          break;
      }
    },
    close: () => undefined,
  };
}

interface Row {
  title: string;
  state: 'waiting' | 'running' | StepOutcome;
  /** Wall-clock start, shown ticking only against real AWS (sandbox times are not the wall's). */
  startedAt?: number;
  elapsedMs?: number;
  note?: string;
}

/**
 * The terminal view: every step in the guide's order, a spinner frame on the running ones, the
 * elapsed time on each. ora draws and redraws the block; finished runs leave the final list.
 */
class LiveList implements PausableRenderer {
  private readonly rows = new Map<string, Row>();
  private readonly spinner: Ora;
  private ticker: NodeJS.Timeout | undefined;
  private heading = '';
  private paused = false;

  constructor(
    private readonly io: Io,
    private readonly options: RenderOptions,
  ) {
    this.spinner = ora({ stream: io.stdout, discardStdin: false, color: io.color ? 'cyan' : (false as never), isEnabled: true });
  }

  sink: EventSink = (event: EngineEvent) => {
    switch (event.type) {
      case 'run-started':
        this.heading = `${event.operation === 'install' ? 'Installing' : 'Tearing down'} ${event.deployment}`;
        for (const step of event.steps) this.rows.set(step.id, { title: step.title, state: 'waiting' });
        this.start();
        break;
      case 'step-started':
        Object.assign(this.rows.get(event.step) ?? {}, { state: 'running', startedAt: performance.now(), note: undefined });
        break;
      case 'step-progress':
        Object.assign(this.rows.get(event.step) ?? {}, { note: event.message });
        break;
      case 'step-finished':
        Object.assign(this.rows.get(event.step) ?? {}, { state: event.outcome, elapsedMs: event.elapsedMs, note: event.error });
        break;
      case 'run-finished':
        this.heading += event.ok ? `: finished in ${timeNote(event.elapsedMs, this.options)}` : ': stopped';
        this.close(event.ok);
        return;
      default:
        return;
    }
    if (!this.paused) this.spinner.text = this.render();
  };

  /** A question takes the terminal: the list is cleared and its ticking stops until `resume`. */
  pause(): void {
    if (!this.spinner.isSpinning) return;
    this.paused = true;
    this.stopTicking();
    this.spinner.stop();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.start();
  }

  private start(): void {
    this.spinner.start(this.render());
    this.ticker = setInterval(() => (this.spinner.text = this.render()), 200);
    this.ticker.unref();
  }

  private stopTicking(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  close(ok = false): void {
    this.stopTicking();
    this.paused = false;
    if (this.spinner.isSpinning)
      this.spinner.stopAndPersist({ symbol: ok ? paint(this.io, 'green', '✔') : paint(this.io, 'red', '✖'), text: this.render() });
  }

  private render(): string {
    const width = Math.max(...[...this.rows.values()].map((r) => r.title.length));
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    const frame = frames[Math.floor(performance.now() / 80) % frames.length]!;
    const lines = [...this.rows.values()].map((row) => {
      const symbol =
        row.state === 'waiting'
          ? paint(this.io, 'gray', '·')
          : row.state === 'running'
            ? paint(this.io, 'cyan', frame)
            : row.state === 'failed'
              ? paint(this.io, 'red', '✖')
              : row.state === 'stopped'
                ? paint(this.io, 'yellow', '■')
                : paint(this.io, 'green', '✔');
      const ms = row.state !== 'running' ? row.elapsedMs : this.options.simulated ? undefined : performance.now() - (row.startedAt ?? 0);
      const time = ms === undefined ? '' : paint(this.io, 'gray', formatDuration(ms));
      const note =
        row.note && (this.options.verbose || row.state === 'failed' || row.state === 'running')
          ? paint(this.io, 'gray', `  ${row.note}`)
          : '';
      return `  ${symbol} ${row.title.padEnd(width)}  ${time}${note}`;
    });
    const clockNote = this.options.simulated ? paint(this.io, 'gray', ' (sandbox; times simulated)') : '';
    return [this.heading + clockNote, ...lines].join('\n');
  }
}
