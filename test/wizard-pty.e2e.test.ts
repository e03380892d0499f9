import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANSWERS } from '../src/config/answers.js';
import { shellWord as shellQuote } from '../src/commands/options.js';
import { BIN, ROOT, tempDir } from './helpers.js';

const run = promisify(execFile);

/**
 * The built CLI in a real pseudo-terminal: tmux runs it on a private server (its own socket), the
 * test reads the screen (capture-pane) and types (send-keys) as an operator would. Skips nothing:
 * without tmux the test fails saying how to install it (.ci/run installs it).
 */
let socket = '';
beforeAll(() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'pipe' });
  } catch {
    throw new Error('tmux is missing: install it (apt-get install tmux, brew install tmux) to run the pseudo-terminal wizard test');
  }
});
afterEach(async () => {
  if (socket) await run('tmux', ['-L', socket, 'kill-server']).catch(() => undefined);
  socket = '';
});

const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { cwd: ROOT });

async function start(args: string[], env: Record<string, string>): Promise<void> {
  socket = `gitlab-aws-test-${process.pid}-${Date.now()}`;
  const command = `node ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')}; echo "gitlab-aws exited $?"; sleep 3600`;
  await run('tmux', ['-L', socket, 'new-session', '-d', '-x', '200', '-y', '50', '-s', 'wizard', command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
}

/** The visible screen, or with `history` everything since the start. */
async function screen({ history = false } = {}): Promise<string> {
  const { stdout } = await tmux('capture-pane', '-p', '-J', '-t', 'wizard', ...(history ? ['-S', '-'] : []));
  return stdout;
}

async function type(text: string): Promise<void> {
  await tmux('send-keys', '-t', 'wizard', '-l', text);
}

async function press(...keys: string[]): Promise<void> {
  await tmux('send-keys', '-t', 'wizard', ...keys);
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

/** A generous bound on waiting for the screen; a test that never sees what it waits for fails, with the screen. */
const PATIENCE_POLLS = 1500;

/** The messages of the prompts an install may open: the wizard's, its gate, the confirmations. */
const MESSAGES = [
  ...ANSWERS.map((a) => a.question),
  'Change the rarely changed answers too',
  'Create these resources?',
  'Continue this deployment?',
];

/**
 * The prompt open at the bottom of the screen, once inquirer shows `? message`: by its message,
 * not the whole line, which changes as the operator types.
 */
function openPrompt(text: string): string | undefined {
  const line = text
    .split('\n')
    .filter((l) => l.startsWith('? '))
    .at(-1)
    ?.slice(2);
  if (line === undefined) return undefined;
  const known = MESSAGES.filter((m) => line.startsWith(m)).sort((a, b) => b.length - a.length)[0];
  return known ?? line;
}

/**
 * Answers each prompt as it opens, by its message: `answers` for those named (keys to type),
 * Enter for the rest (the default), until the program exits. Answers the prompts seen and the
 * refusals shown under them (a prompt redraws them away once corrected).
 */
async function drive(answers: Array<[message: string, keys: () => Promise<void>]>): Promise<{ seen: string[]; refusals: string[] }> {
  const seen: string[] = [];
  const refusals: string[] = [];
  let handled = '';
  for (let polls = 0; polls < PATIENCE_POLLS; polls++) {
    const text = await screen();
    if (/gitlab-aws exited \d+/.test(text)) return { seen, refusals };
    const open = openPrompt(text);
    const shown = text.split('\n').filter((line) => line.startsWith('> '));
    const error = shown.length > 0;
    for (const line of shown) if (!refusals.includes(line)) refusals.push(line);
    if (!open || (open === handled && !error)) {
      await pause();
      continue;
    }
    const answer = answers.find(([message]) => open.startsWith(message));
    if (answer && (open !== handled || error)) {
      answers.splice(answers.indexOf(answer), 1);
      seen.push(open);
      await answer[1]();
    } else if (open !== handled) {
      seen.push(open);
      await press('Enter');
    } else {
      await pause();
      continue;
    }
    handled = open;
  }
  throw new Error(`the program did not finish; the screen:\n${await screen()}`);
}

describe('the wizard in a real terminal (tmux)', () => {
  it('asks every question, refuses a typo in place, installs; the resume asks only its confirmation', async () => {
    const dir = await tempDir();
    const home = await tempDir('gitlab-aws-home-');
    await start(['install', '--sandbox', '--state-dir', dir], { HOME: home });
    const { seen, refusals } = await drive([
      ['Deployment name', () => type('pty').then(() => press('Enter'))],
      ['Trusted range for SSH', () => type('10.0.0.0/33').then(() => press('Enter'))],
      // The same prompt again, now with the config check's refusal under it: correct the last two characters.
      [
        'Trusted range for SSH',
        () =>
          press('BSpace', 'BSpace')
            .then(() => type('16'))
            .then(() => press('Enter')),
      ],
      [
        'Cache replicas beside the primary',
        () =>
          press('BSpace')
            .then(() => type('3'))
            .then(() => press('Enter')),
      ],
      ['Create these resources?', () => type('y').then(() => press('Enter'))],
    ]);
    const all = await screen({ history: true });
    expect(all).toContain('gitlab-aws exited 0');
    expect(all).toContain("Deployment 'pty' is up");
    expect(refusals).toEqual([expect.stringContaining("sshCidr: '10.0.0.0/33' is not a CIDR block")]);
    // In the guide's order, each once (the typo's prompt twice).
    const order = ANSWERS.map((a) => a.question);
    const wizard = seen.filter((s) => order.some((q) => s.startsWith(q)));
    const positions = wizard.map((s) => order.findIndex((q) => s.startsWith(q)));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(wizard.length).toBeGreaterThanOrEqual(25);
    const state = JSON.parse(await readFile(join(dir, 'pty.json'), 'utf8'));
    expect(state.config).toMatchObject({ deployment: 'pty', sshCidr: '10.0.0.0/16', cache: { replicas: 3 } });
    await run('tmux', ['-L', socket, 'kill-server']);

    await start(['install', '--sandbox', '--state-dir', dir, '--deployment', 'pty'], { HOME: home });
    const { seen: resumed } = await drive([['Continue this deployment?', () => type('y').then(() => press('Enter'))]]);
    expect(resumed).toEqual([expect.stringMatching(/^Continue this deployment\?/)]);
    expect(await screen({ history: true })).toContain('gitlab-aws exited 0');
  });
});
