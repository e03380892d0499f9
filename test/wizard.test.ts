import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { input } from '@inquirer/prompts';
import { render } from '@inquirer/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANSWERS, answerFor, type Facts } from '../src/config/answers.js';
import { sandboxPublicKey } from '../src/config/ssh-key.js';
import { askAnswer, questionFor } from '../src/wizard/ask.js';
import type { Question } from '../src/ui/host.js';
import { RecorderHost } from '../src/ui/recorder.js';
import { main } from '../src/cli.js';
import { runInProcess, runRecorded, sandboxAnswersFile, tempDir } from './helpers.js';

const DOWN = '\x1b[B';
const BACKSPACE = '\x7f';
const operatorKey = sandboxPublicKey('the-operator');

/** A HOME of the test's own, with one key in ~/.ssh, so the wizard offers it and nothing of the machine's. */
let home: string;
let realHome: string | undefined;
beforeEach(async () => {
  realHome = process.env.HOME;
  home = await tempDir('gitlab-aws-home-');
  await mkdir(join(home, '.ssh'));
  await writeFile(join(home, '.ssh', 'id_ed25519.pub'), `${operatorKey}\n`);
  process.env.HOME = home;
});
afterEach(() => {
  process.env.HOME = realHome;
});

async function stateOf(dir: string, deployment: string) {
  return JSON.parse(await readFile(join(dir, `${deployment}.json`), 'utf8')) as {
    config: Record<string, unknown> & { cache: { replicas: number } };
  };
}

// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** Enter at every question from `from` on, in the wizard's order: each takes its default. */
const defaults = (...messages: string[]) => messages.map((after) => ({ after, keys: '\r' }));

describe('the wizard on a terminal', () => {
  it('asks every answer in the guide’s order, corrects a typo in place, installs, and a resume asks nothing new', async () => {
    const dir = await tempDir();
    const saved = join(await tempDir(), 'answers.json');
    const run = await runInProcess(['install', '--sandbox', '--state-dir', dir, '--save-config', saved], {
      tty: true,
      type: [
        { after: 'Deployment name', keys: 'wiz\r' },
        ...defaults('AWS region'),
        // The zones offering every instance type, as pairs: the second is us-west-2a and us-west-2c.
        { after: 'Availability Zones', keys: `${DOWN}\r` },
        ...defaults('Domain GitLab answers on'),
        // A typo: the prompt refuses it in place with the config check's words, the operator corrects it.
        { after: 'Trusted range for SSH', keys: '203.0.113.0/33\r' },
        { after: "sshCidr: '203.0.113.0/33' is not a CIDR block", keys: `${BACKSPACE}${BACKSPACE}24\r` },
        // The sandbox's own key first, then ~/.ssh's: pick the operator's.
        { after: 'SSH public key', keys: `${DOWN}\r` },
        ...defaults(
          'GitLab edition',
          'GitLab version',
          'GitLab (Rails) instance type',
          'Gitaly instance type',
          'Bastion instance type',
          'RDS instance class',
          'ElastiCache node type',
          'Gitaly volume size',
          'Gitaly volume IOPS',
          'Database storage type',
          'Database storage (GiB)',
          'Database IOPS',
          'Cache engine',
        ),
        { after: 'Cache replicas beside the primary', keys: '2\r' },
        ...defaults(
          'Auto Scaling group: minimum nodes',
          'Auto Scaling group: desired nodes',
          'Auto Scaling group: maximum nodes',
          'Scale up above average CPU',
          'Scale down below average CPU',
          'Health check grace period',
          'Turn proxy protocol v2 on',
          'Change the rarely changed answers too',
        ),
        { after: 'Create these resources?', keys: 'y\r' },
      ],
    });
    expect(run.unanswered, run.stdout.slice(-2000)).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Deployment 'wiz' is up");
    // Each question with its line of why, the plan after the answers.
    expect(run.stdout).toContain(answerFor('sshCidr').why);
    expect(run.stdout.indexOf('Cache replicas beside the primary')).toBeLessThan(run.stdout.indexOf('Create these resources?'));

    const { config } = await stateOf(dir, 'wiz');
    expect(config).toMatchObject({
      deployment: 'wiz',
      region: 'us-west-2',
      availabilityZones: ['us-west-2a', 'us-west-2c'],
      sshCidr: '203.0.113.0/24',
      sshPublicKey: operatorKey,
      cache: { replicas: 2, engine: 'valkey' },
    });

    // --save-config wrote the same answers: a plan of that file is the installed configuration.
    const plan = await runInProcess(['plan', '--sandbox', '--json', '--config', saved, '--state-dir', await tempDir()]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).config).toEqual(config);

    // Installed: naming it again is a resume; nothing but the confirmation is asked.
    const again = await runInProcess(['install', '--sandbox', '--state-dir', dir], {
      tty: true,
      type: [
        { after: 'Deployment name', keys: 'wiz\r' },
        { after: 'Continue this deployment?', keys: 'y\r' },
      ],
    });
    expect(again.unanswered).toEqual([]);
    expect(again.code, again.stderr).toBe(0);
    const screen = plain(again.stdout);
    expect(screen).toContain('? Deployment name');
    for (const def of ANSWERS.filter((a) => a.key !== 'deployment')) expect(screen).not.toContain(`? ${def.question}`);
    const resumed = await runRecorded(['install', '--sandbox', '--deployment', 'wiz', '--state-dir', dir], { 'confirm-resume': true });
    expect(resumed.code).toBe(0);
    expect(resumed.host.asked).toEqual(['confirm-resume']);
  });

  it('asks for a second yes before opening SSH to the world; a no asks the range again', async () => {
    const facts: Facts = { sandbox: true, deployment: 'gitlab' };
    const queued: Record<string, Array<boolean | string>> = {
      sshCidr: ['0.0.0.0/0', '0.0.0.0/0', '198.51.100.0/24'],
      sshFromAnywhere: [false, true],
    };
    const asked: string[] = [];
    const host = new RecorderHost();
    host.ask = async <T extends boolean | string>(question: Question<T>) => {
      asked.push(question.id);
      if (question.id === 'sshFromAnywhere') expect(question.default).toBe(false);
      return queued[question.id]!.shift() as T;
    };
    const open = await askAnswer(host, answerFor('sshCidr'), { region: 'us-west-2' }, facts);
    expect(asked).toEqual(['sshCidr', 'sshFromAnywhere', 'sshCidr', 'sshFromAnywhere']);
    expect(open).toEqual({ region: 'us-west-2', sshFromAnywhere: true });
    expect(await askAnswer(host, answerFor('sshCidr'), { region: 'us-west-2' }, facts)).toEqual({
      region: 'us-west-2',
      sshCidr: '198.51.100.0/24',
    });
  });
});

describe('the wizard’s prompts', () => {
  it('a typed answer is validated as typed: the error shows under the prompt and the corrected value is taken', async () => {
    const facts: Facts = { sandbox: true, deployment: 'gitlab', zones: ['us-west-2a', 'us-west-2b'] };
    const question = questionFor(answerFor('cache.replicas'), { region: 'us-west-2' }, facts);
    const { answer, events, getScreen } = await render(input, {
      message: question.message,
      default: question.default,
      validate: (text: string) => question.validate?.(text) ?? true,
    });
    events.type('9');
    events.keypress('enter');
    await new Promise((resolve) => setImmediate(resolve));
    expect(getScreen()).toContain('cache.replicas 9 is out of range');
    events.keypress('backspace');
    events.type('3');
    events.keypress('enter');
    await expect(answer).resolves.toBe('3');
  });
});

describe('the wizard without a terminal', () => {
  it('without --yes lists every question it could not ask, exits 2, and leaves the state directory untouched', async () => {
    const dir = await tempDir();
    const run = await runInProcess(['install', '--sandbox', '--state-dir', dir]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const asked of [
      'deployment ("Deployment name")',
      'region ("AWS region")',
      'availabilityZones',
      'sshCidr',
      'cache.replicas',
      'proxyProtocol',
    ]) {
      expect(lines[0]).toContain(asked);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('--config with every answer and --yes asks no question of the wizard', async () => {
    const dir = await tempDir();
    const answers = await sandboxAnswersFile({ cache: { replicas: 2 } });
    // A recorder throws on any question it has no answer for; --yes answers only the confirmation here.
    const { code, host } = await runRecorded(['install', '--sandbox', '--yes', '--state-dir', dir, '--config', answers], {
      'confirm-install': true,
    });
    expect(code).toBe(0);
    expect(host.asked).toEqual(['confirm-install']);
    expect((await stateOf(dir, 'gitlab')).config.cache.replicas).toBe(2);
  });

  it('--yes takes every default: the zones resolved to the first two offering every instance type', async () => {
    const dir = await tempDir();
    const saved = join(dir, '..', `${Date.now()}-answers.json`);
    const run = await runInProcess(['install', '--sandbox', '--yes', '--state-dir', dir, '--save-config', saved]);
    expect(run.code, run.stderr).toBe(0);
    const { config } = await stateOf(dir, 'gitlab');
    expect(config.availabilityZones).toEqual(['us-west-2a', 'us-west-2b']);
    // The saved answers, and a plan of them read back, plan the same.
    const first = await runInProcess(['plan', '--sandbox', '--json', '--config', saved, '--state-dir', await tempDir()]);
    const planFile = join(await tempDir(), 'plan.json');
    await writeFile(planFile, first.stdout);
    const second = await runInProcess(['plan', '--sandbox', '--json', '--config', planFile, '--state-dir', await tempDir()]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    expect(JSON.parse(first.stdout).config).toEqual(config);
  });
});

describe('the wizard’s AWS facts', () => {
  /** A host answering from `answer`, keeping each question as asked (its choices, its default). */
  function hostAnswering(answer: (question: Question) => boolean | string) {
    const host = new RecorderHost();
    const asked: Question[] = [];
    host.ask = async <T extends boolean | string>(question: Question<T>) => {
      asked.push(question as unknown as Question);
      return answer(question as unknown as Question) as T;
    };
    return { host, asked };
  }

  /** Every answer in a file but `leave`, which the wizard then asks. */
  async function answersWithout(leave: string[], answers = {}): Promise<string> {
    const path = await sandboxAnswersFile(answers);
    const file = JSON.parse(await readFile(path, 'utf8'));
    for (const key of leave) delete file[key];
    await writeFile(path, JSON.stringify(file));
    return path;
  }

  it('offers the ISSUED certificates covering the domain, or a new one (the default)', async () => {
    const dir = await tempDir();
    const seed = join(await tempDir(), 'seed.json');
    const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', name), 'utf8');
    await writeFile(
      seed,
      JSON.stringify({
        calls: [
          {
            service: 'acm',
            call: 'ImportCertificate',
            input: { Certificate: await fixture('gitlab.example.com.crt'), PrivateKey: await fixture('gitlab.example.com.key') },
          },
        ],
      }),
    );
    process.env.GITLAB_AWS_SANDBOX_SEED = seed;
    try {
      const { host, asked } = hostAnswering((q) => (q.id === 'certificateArn' ? q.choices![1]!.value : false));
      const code = await main(['install', '--sandbox', '--state-dir', dir, '--config', await answersWithout(['certificateArn'])], host);
      expect(code).toBe(2);
      const question = asked.find((q) => q.id === 'certificateArn')!;
      expect(question.default).toBe('');
      expect(question.choices!.map((c) => c.name)).toEqual([
        'request a new one (validated through DNS)',
        'gitlab.example.com, registry.gitlab.example.com',
      ]);
      expect(question.choices![1]!.value).toMatch(/^arn:aws:acm:us-west-2:\d{12}:certificate\//);
      expect(asked.map((q) => q.id)).toEqual(['certificateArn', 'confirm-install']);
    } finally {
      delete process.env.GITLAB_AWS_SANDBOX_SEED;
    }
  });

  it('asks whether to create a hosted zone only when none in the account holds the domain', async () => {
    const none = hostAnswering((q) => q.id === 'createHostedZone');
    const file = await answersWithout(['createHostedZone'], { domain: 'gitlab.nowhere.test' });
    expect(await main(['install', '--sandbox', '--state-dir', await tempDir(), '--config', file], none.host)).toBe(2);
    expect(none.asked.map((q) => q.id)).toEqual(['createHostedZone', 'confirm-install']);
    expect(none.asked[0]!.default).toBe(false);
    // The plan then lists the zone it will create.
    expect(none.host.messages.find((m) => m.code === 'plan')!.text).toMatch(/nowhere\.test/);

    const found = hostAnswering(() => false);
    const ours = await answersWithout(['createHostedZone']);
    expect(await main(['install', '--sandbox', '--state-dir', await tempDir(), '--config', ours], found.host)).toBe(2);
    expect(found.asked.map((q) => q.id)).toEqual(['confirm-install']);
  });
});
