import ora, { type Ora } from 'ora';
import { formatDuration } from '../aws/clock.js';
import type { EngineEvent, EventSink, StepOutcome, Wait } from '../engine/events.js';
import { RunTimeline, waitLabel } from '../engine/timeline.js';
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
 * Every time shown comes from the events (`atMs`, `elapsedMs`): only the engine knows whose
 * timeline a step ran on, so a clock read here would be the wrong one in the sandbox.
 */
export function createRenderer(mode: 'tty', io: Io, options: RenderOptions): PausableRenderer;
export function createRenderer(mode: RenderMode, io: Io, options: RenderOptions): Renderer;
export function createRenderer(mode: RenderMode, io: Io, options: RenderOptions): Renderer {
  if (mode === 'json') return ndjson(io);
  if (mode === 'tty') return hasSize(io) ? new LiveList(io, options) : plainLines(io, options);
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

/** A step's outcome in the operator's words: the list, the plain lines and the report say the same. */
export const OUTCOME_TEXT: Record<StepOutcome, string> = {
  done: 'done',
  verified: 'already done',
  destroyed: 'removed',
  retained: 'removed, data kept',
  failed: 'FAILED',
  stopped: 'stopped',
};

function outcomeText(outcome: StepOutcome): string {
  return OUTCOME_TEXT[outcome];
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

/** Plain lines show a wait again only after this much more of it, however often the step looks. */
export const PLAIN_WAIT_EVERY_MS = 3 * 60_000;

const MINUTE_MS = 60_000;

/** "RDS instance gitlab-db-ha: creating, 6 of ~15 min": a wait as the operator reads it. */
export function waitText({ what, state, waitedMs, typicalMs }: Wait): string {
  const waited =
    typicalMs === undefined
      ? formatDuration(waitedMs)
      : typicalMs >= MINUTE_MS
        ? `${Math.round(waitedMs / MINUTE_MS)} of ~${Math.round(typicalMs / MINUTE_MS)} min`
        : `${formatDuration(waitedMs)} of ~${formatDuration(typicalMs)}`;
  return `${what}: ${state}, ${waited}`;
}

/** "about 23 min left": the estimate, rounded up, as the heading says it. */
function leftText(ms: number, running: boolean): string {
  // Nothing left by the typical times while steps still run: AWS is slower than usual, not done.
  if (ms <= 0 && running) return 'taking longer than typical';
  return ms < MINUTE_MS ? 'under a minute left' : `about ${Math.ceil(ms / MINUTE_MS)} min left`;
}

/**
 * A line per step start and finish, for logs and pipes; waits every few minutes of awaited time
 * (a CI log should show the install is alive, not every poll). Pausable so a terminal without a
 * size can take these in place of the live list.
 */
function plainLines(io: Io, options: RenderOptions): PausableRenderer {
  const { verbose } = options;
  const shown = new Map<string, number>();
  return {
    sink(event) {
      switch (event.type) {
        case 'step-started':
          line(io.stdout, `→ ${event.title}`);
          break;
        case 'step-progress': {
          if (verbose) {
            line(io.stdout, `  ${event.message}`);
            break;
          }
          if (!event.wait) break;
          const key = `${event.step} ${waitLabel(event.wait)}`;
          if (event.wait.waitedMs < (shown.get(key) ?? 0) + PLAIN_WAIT_EVERY_MS) break;
          shown.set(key, event.wait.waitedMs);
          line(io.stdout, `  ${waitText(event.wait)}`);
          break;
        }
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
    pause: () => undefined,
    resume: () => undefined,
  };
}

/** A terminal that reports no size (0x0 under some multiplexers and CI shells) cannot hold a redrawn block. */
function hasSize(io: Io): boolean {
  const { columns, rows } = io.stdout as { columns?: number; rows?: number };
  return columns !== 0 && rows !== 0;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The terminal view: every step in the guide's order, a spinner frame on the running ones, the
 * elapsed time on each, what a running step waits for, and in the heading the time left (from the
 * run's graph and what finished, `RunTimeline.remainingMs`). ora draws and redraws the block (a
 * task-list library such as listr2 wants to run the tasks itself; here the engine runs them and
 * we only draw its events); finished runs leave the full final list.
 */
class LiveList implements PausableRenderer {
  private readonly run = new RunTimeline();
  private readonly spinner: Ora;
  private ticker: NodeJS.Timeout | undefined;
  /** Wall-clock start, for real AWS only: there the wall is the run's clock, and rows tick between polls. */
  private wallStart = 0;
  private paused = false;

  constructor(
    private readonly io: Io,
    private readonly options: RenderOptions,
  ) {
    this.spinner = ora({ stream: io.stdout, discardStdin: false, color: io.color ? 'cyan' : (false as never), isEnabled: true });
  }

  sink: EventSink = (event: EngineEvent) => {
    this.run.apply(event);
    if (event.type === 'run-started') {
      this.wallStart = performance.now();
      return this.start();
    }
    if (event.type === 'run-finished') return this.close(event.ok);
    // Drawn at once, not at the next tick: what the operator sees follows the events exactly.
    if (this.paused || !this.spinner.isSpinning) return;
    this.spinner.text = this.render();
    this.spinner.render();
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
      this.spinner.stopAndPersist({ symbol: ok ? paint(this.io, 'green', '✔') : paint(this.io, 'red', '✖'), text: this.render(true) });
  }

  /** The run's time now: the events' on the sandbox, the wall's on AWS (never behind the events). */
  private wallMs(): number | undefined {
    return this.options.simulated ? undefined : performance.now() - this.wallStart;
  }

  private heading(): string {
    const { run, options } = this;
    const verb = run.operation === 'install' ? 'Installing' : 'Tearing down';
    let text = `${verb} ${run.deployment}`;
    // The heading's note says the times are simulated, once.
    if (run.finished) text += run.finished.ok ? `: finished in ${formatDuration(run.finished.elapsedMs)}` : ': stopped';
    else {
      const now = Math.max(run.frontierMs, this.wallMs() ?? 0);
      text += `: ${formatDuration(now)} so far`;
      // The typical minutes are creation times: a teardown's would be a guess.
      const running = [...run.times.values()].some((t) => t.startMs !== undefined && t.endMs === undefined);
      if (run.operation === 'install') text += `, ${leftText(run.remainingMs(this.wallMs()), running)}`;
    }
    return text + (options.simulated ? paint(this.io, 'gray', ' (sandbox; times simulated)') : '');
  }

  private render(final = false): string {
    const { run } = this;
    const width = Math.max(0, ...run.steps.map((s) => s.title.length));
    const columns = (this.io.stdout as { columns?: number }).columns ?? 100;
    const frame = FRAMES[Math.floor(performance.now() / 80) % FRAMES.length]!;
    const rows = run.steps.map((step) => {
      const times = run.times.get(step.id);
      const state = times?.outcome ?? (times?.startMs !== undefined ? 'running' : 'waiting');
      const symbol =
        state === 'waiting'
          ? paint(this.io, 'gray', '·')
          : state === 'running'
            ? paint(this.io, 'cyan', frame)
            : state === 'failed'
              ? paint(this.io, 'red', '✖')
              : state === 'stopped'
                ? paint(this.io, 'yellow', '■')
                : paint(this.io, 'green', '✔');
      const ms =
        times?.elapsedMs ?? (times?.startMs === undefined ? undefined : Math.max(times.nowMs ?? 0, this.wallMs() ?? 0) - times.startMs);
      const time = ms === undefined ? '' : formatDuration(ms);
      const said =
        state === 'running' ? (times?.wait ? waitText(times.wait) : times?.message) : state === 'failed' ? times?.error : undefined;
      const verboseNote = this.options.verbose && state !== 'waiting' ? times?.message : undefined;
      const head = `  ${symbol} ${step.title.padEnd(width)}  `;
      // A line wider than the terminal wraps, and ora then clears too few lines on the next frame.
      const room = Math.max(0, columns - 1 - (width + 6) - time.length - 2);
      const note = said ?? verboseNote;
      const noteText = note ? `  ${final ? note : clip(note.split('\n')[0]!, room)}` : '';
      return { state, text: `${head}${paint(this.io, 'gray', time)}${noteText ? paint(this.io, 'gray', noteText) : ''}` };
    });
    const shown = final ? rows.map((r) => r.text) : fitRows(rows, (this.io.stdout as { rows?: number }).rows);
    return [this.heading(), ...shown].join('\n');
  }
}

function clip(text: string, room: number): string {
  return text.length <= room ? text : `${text.slice(0, Math.max(0, room - 1))}…`;
}

/**
 * A frame taller than the terminal cannot be redrawn in place (ora would leave a copy of its top
 * in the scrollback on every frame), so a short terminal shows the rows that matter now: the
 * running and failed ones, then what comes next, then finished ones nearest the end, with a line counting
 * the rest. The final list is always whole.
 */
function fitRows(rows: Array<{ state: string; text: string }>, terminalRows: number | undefined): string[] {
  const room = (terminalRows ?? Infinity) - 2;
  if (rows.length <= room) return rows.map((r) => r.text);
  const keep = new Set<number>();
  const take = (indexes: number[]) => indexes.forEach((i) => keep.size < room - 1 && keep.add(i));
  const where = (test: (state: string) => boolean) => rows.flatMap((r, i) => (test(r.state) ? [i] : []));
  take(where((s) => s === 'running' || s === 'failed' || s === 'stopped'));
  take(where((s) => s === 'waiting'));
  take(where((s) => s !== 'waiting' && s !== 'running').reverse());
  const hidden = rows.filter((_, i) => !keep.has(i));
  const count = (test: (state: string) => boolean, what: string) => {
    const n = hidden.filter((r) => test(r.state)).length;
    return n ? [`${n} ${what}`] : [];
  };
  const rest = [...count((s) => s === 'waiting', 'to come'), ...count((s) => s !== 'waiting', 'finished')].join(', ');
  return [...rows.flatMap((r, i) => (keep.has(i) ? [r.text] : [])), `  … ${rest} (a taller terminal shows every step)`];
}
