import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput } from '../errors.js';
import { writeFileAtomically } from './atomic.js';
import { STATE_SCHEMA_VERSION, stateSchema, type ResourceRecord, type StateDoc } from './schema.js';

export function statePaths(stateDir: string, deployment: string) {
  const file = join(stateDir, `${deployment}.json`);
  return { file, backup: `${file}.bak`, lock: join(stateDir, `${deployment}.lock`), log: join(stateDir, `${deployment}.log`) };
}

/**
 * Reads the state file of a deployment, or undefined when there is none. A file that cannot be
 * trusted (unparseable, invalid, or written by a newer gitlab-aws) is refused, never overwritten.
 */
export async function readState(file: string, { discover = 'gitlab-aws status --discover' } = {}): Promise<StateDoc | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw badInput(
      `cannot read state file ${file} (${code === 'EISDIR' ? 'it is a directory' : (code ?? 'error')})`,
      'move it aside or fix its permissions; it was not changed',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupted(file, 'it is not valid JSON', discover);
  }
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version > STATE_SCHEMA_VERSION) {
    throw badInput(
      `state file ${file} was written by a newer gitlab-aws (schema ${version}; this one reads ${STATE_SCHEMA_VERSION})`,
      'upgrade gitlab-aws (npx gitlab-aws@latest) and run the command again; the file was not changed',
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupted(file, `${issue.path.join('.') || 'document'}: ${issue.message}`, discover);
  }
  return parsed.data;
}

/** `discover` is the command, as the operator would paste it, that lists what AWS holds. */
function corrupted(file: string, why: string, discover: string) {
  return badInput(
    `state file ${file} is corrupted (${why})`,
    `it was not changed; restore ${file}.bak over it, or move it aside and run '${discover}' to see what exists`,
  );
}

/**
 * The live state of one run. Every change is written at once, atomically (temp file, fsync,
 * rename), with the previous version kept as <file>.bak. Writes are queued so concurrent steps
 * never interleave, and each write sees all earlier changes.
 */
export class StateStore {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private doc: StateDoc,
  ) {}

  get state(): Readonly<StateDoc> {
    return this.doc;
  }

  static async create(file: string, doc: StateDoc): Promise<StateStore> {
    const store = new StateStore(file, doc);
    await store.update(() => undefined);
    return store;
  }

  update(change: (doc: StateDoc) => void): Promise<void> {
    change(this.doc);
    this.doc.updatedAt = new Date().toISOString();
    const snapshot = JSON.stringify(this.doc, null, 2) + '\n';
    const write = this.queue.then(() => writeFileAtomically(this.file, snapshot, { backup: true }));
    this.queue = write.catch(() => undefined);
    return write;
  }

  record(resource: ResourceRecord): Promise<void> {
    return this.update((doc) => {
      const known = doc.resources.some((r) => r.type === resource.type && r.id === resource.id);
      if (!known) doc.resources.push(resource);
    });
  }

  forget(type: string, id: string): Promise<void> {
    return this.update((doc) => {
      doc.resources = doc.resources.filter((r) => !(r.type === type && r.id === id));
    });
  }

  /** After a complete teardown nothing is left to remember; the backup keeps the last version. */
  async remove(): Promise<void> {
    await this.queue;
    await copyFile(this.file, `${this.file}.bak`).catch(() => undefined);
    await rm(this.file, { force: true });
  }

  flushed(): Promise<void> {
    return this.queue;
  }
}

export function newStateDoc(init: Pick<StateDoc, 'deployment' | 'installId' | 'sandbox' | 'config' | 'writtenBy'>): StateDoc {
  const now = new Date().toISOString();
  return { schemaVersion: STATE_SCHEMA_VERSION, ...init, createdAt: now, updatedAt: now, steps: {}, resources: [] };
}
