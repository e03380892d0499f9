import type { IoHost } from './host.js';
import type { Io } from './io.js';
import { NdjsonHost } from './ndjson.js';
import { TerminalHost } from './terminal.js';

export interface HostChoice {
  json: boolean;
  yes: boolean;
  verbose: boolean;
  signal?: AbortSignal;
}

/** The host for this run, from where the output goes and who (if anyone) can answer. */
export function chooseHost(io: Io, { json, yes, verbose, signal }: HostChoice): IoHost {
  if (json) return new NdjsonHost(io, { yes, verbose });
  const answering = yes ? 'yes' : io.interactive && io.stdin ? 'prompt' : 'refuse';
  return new TerminalHost(io, { answering, verbose, ...(signal ? { signal } : {}) });
}
