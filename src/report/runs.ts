import { readFile } from 'node:fs/promises';
import type { EngineEvent } from '../engine/events.js';

/** One run as the deployment's log holds it: the command line that began it, then its events. */
export interface LoggedRun {
  /** 1 for the first run in the log. */
  index: number;
  /** When the command began, on the wall clock (ISO 8601). */
  at: string;
  command: string;
  events: EngineEvent[];
}

/**
 * The runs in a log (src/state/log.ts): each begins with its `{"type":"command"}` line. A line
 * that does not parse is the torn end of a run killed mid-write; it is skipped, since every line
 * before it was written whole.
 */
export function parseRunLog(text: string): LoggedRun[] {
  const runs: LoggedRun[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let entry: { type?: unknown; at?: unknown; command?: unknown };
    try {
      entry = JSON.parse(raw) as typeof entry;
    } catch {
      continue;
    }
    if (entry.type === 'command') {
      runs.push({ index: runs.length + 1, at: String(entry.at ?? ''), command: String(entry.command ?? ''), events: [] });
    } else if (typeof entry.type === 'string') runs.at(-1)?.events.push(entry as EngineEvent);
  }
  return runs;
}

/** The runs in the log file; none when the deployment never ran (no log yet). */
export async function readRunLog(file: string): Promise<LoggedRun[]> {
  try {
    return parseRunLog(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
