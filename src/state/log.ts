import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EngineEvent } from '../engine/events.js';

export interface RunLog {
  write(event: EngineEvent): void;
  close(): Promise<void>;
}

/**
 * Every run appends its events, one JSON object a line with a timestamp, to <deployment>.log in
 * the state directory: the record of what happened and when, for the operator and for support.
 * Events arrive already redacted by the engine.
 */
export async function openRunLog(file: string, command: string): Promise<RunLog> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  const append = (entry: object) => stream.write(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  append({ type: 'command', command, pid: process.pid });
  return {
    write: (event) => append(event),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}
