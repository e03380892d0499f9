// One lane of the crash sweep: a process that runs the built CLI's main() again and again, as the
// parent asks over IPC, so a run costs what the program does rather than a process start-up.
// Plain JavaScript because it runs outside vitest, on dist/ (like bin/gitlab-aws.js).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../dist/cli.js';
import { observeMutations } from '../dist/sandbox/index.js';

/** Streams that keep what the CLI wrote to stderr (for the report) and drop stdout. */
function recordingIo() {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let err = '';
  stdout.resume();
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr, interactive: false, color: false }, stderr: () => err };
}

/**
 * Copies every file of the state directory, as the disk holds it this instant, into `to`.
 * Synchronous on purpose: nothing else in this process runs meanwhile, so the copy is exactly what
 * a SIGKILL now would leave behind (a state file lagging the memory's, a half-written temp file,
 * the lock naming this process).
 */
function copyStateDir(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    let bytes;
    try {
      bytes = readFileSync(join(from, entry.name));
    } catch (err) {
      if (err.code === 'ENOENT') continue; // renamed away between listing and reading
      throw err;
    }
    writeFileSync(join(to, entry.name), bytes);
  }
}

/** Runs argv; with `snapshotsTo`, copies the state directory at each mutating call to <snapshotsTo>/<N>/. */
async function run({ argv, snapshotsTo }) {
  const stateDir = argv[argv.indexOf('--state-dir') + 1];
  const snapshots = [];
  const stop = snapshotsTo
    ? observeMutations((count) => {
        copyStateDir(stateDir, join(snapshotsTo, String(count)));
        snapshots.push(count);
      })
    : () => undefined;
  const { io, stderr } = recordingIo();
  const cpuBefore = process.cpuUsage();
  let code;
  try {
    code = await main(argv, io);
  } finally {
    stop();
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { code, stderr: stderr(), snapshots, cpuMs: (cpu.user + cpu.system) / 1000 };
}

process.on('message', async (request) => {
  try {
    process.send({ id: request.id, ...(await run(request)) });
  } catch (err) {
    process.send({ id: request.id, error: String(err?.stack ?? err) });
  }
});
