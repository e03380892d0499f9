import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ANSWERS, answerFor, answerProblem, type Facts } from '../src/config/answers.js';
import { answersMarkdown } from '../src/config/answers-reference.js';
import { readConfigFile } from '../src/config/file.js';
import { configFileSchema } from '../src/config/schema.js';
import { ROOT, runInProcess, runRecorded, sandboxAnswersFile, tempDir } from './helpers.js';

/** Every leaf key of a zod object schema, by its path (`database.instanceClass`). */
function leafKeys(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  if (!(inner instanceof z.ZodObject)) return [prefix.slice(0, -1)];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) => leafKeys(value, `${prefix}${key}.`));
}

const sandboxFacts: Facts = { sandbox: true, deployment: 'gitlab', zones: ['us-west-2a', 'us-west-2b', 'us-west-2c'] };
const so = { region: 'us-west-2' };

describe('one definition per answer', () => {
  it('every config-file key has exactly one entry in ANSWERS, and every entry is a config-file key', () => {
    const fileKeys = leafKeys(configFileSchema).sort();
    const answerKeys = ANSWERS.map((a) => a.key);
    expect([...answerKeys].sort()).toEqual(fileKeys);
    expect(new Set(answerKeys).size).toBe(answerKeys.length);
  });

  it("is in the guide's order: name, region, zones, domain, zone, certificate, SSH, key, GitLab, sizes, storage, Redis, the group, proxy protocol", () => {
    const asked = ANSWERS.filter((a) => a.asked !== false && !a.rare).map((a) => a.key);
    const at = (key: string) => asked.indexOf(key);
    const order = [
      'deployment',
      'region',
      'availabilityZones',
      'domain',
      'createHostedZone',
      'certificateArn',
      'sshCidr',
      'sshPublicKeyFile',
      'gitlab.edition',
      'gitlab.version',
      'gitlab.instanceType',
      'database.instanceClass',
      'cache.nodeType',
      'gitaly.volumeSize',
      'database.storageType',
      'cache.engine',
      'cache.replicas',
      'autoScaling.min',
      'autoScaling.scaleUpCpu',
      'autoScaling.healthCheckGracePeriod',
      'proxyProtocol',
    ];
    expect(order.map(at)).toEqual([...order.map(at)].sort((a, b) => a - b));
    expect(order.every((key) => at(key) >= 0)).toBe(true);
  });

  it('generates every answer flag, today’s names kept, and install --help lists every key with its flag, default and why', async () => {
    const { code, host } = await runRecorded(['install', '--help']);
    expect(code).toBe(0);
    const help = host.messages.map((m) => m.text).join('\n');
    for (const flag of [
      '--ssh-cidr <cidr>',
      '--ssh-from-anywhere',
      '--db-instance-class <class>',
      '--bucket-prefix <prefix>',
      '--cache-node-type <type>',
      '--cache-engine <engine>',
      '--cache-replicas <count>',
      '--domain <name>',
      '--create-hosted-zone',
      '--certificate-arn <arn>',
      '--ssh-public-key <file>',
      '--proxy-protocol',
      '--availability-zones <a,b>',
      '--gitlab-version <version>',
      '--gitlab-edition <edition>',
      '--save-config <file>',
    ]) {
      expect(help).toContain(flag);
    }
    for (const def of ANSWERS) {
      expect(help).toContain(`  ${def.key}`);
      expect(help).toContain(`(default: ${def.guide})`);
      expect(help).toContain(def.why);
    }
  });

  it("the README's answers block is the generated one", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- answers:start -->\n([\s\S]*?)\n<!-- answers:end -->/.exec(readme);
    expect(block, 'README.md has no answers block').not.toBeNull();
    expect(block![1]).toBe(answersMarkdown());
  });

  it('the flags reach the configuration as the file keys they stand for', async () => {
    const dir = await tempDir();
    const run = await runInProcess([
      'plan',
      '--sandbox',
      '--json',
      '--state-dir',
      dir,
      '--availability-zones',
      'us-west-2b,us-west-2c',
      '--gitlab-version',
      '19.5',
      '--gitlab-edition',
      'ce',
      '--cache-replicas',
      '2',
      '--ssh-cidr',
      '203.0.113.0/24',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { config } = JSON.parse(run.stdout);
    expect(config.availabilityZones).toEqual(['us-west-2b', 'us-west-2c']);
    expect(config.gitlab).toMatchObject({ edition: 'ce', version: '19.5' });
    expect(config.cache.replicas).toBe(2);
    expect(config.sshCidr).toBe('203.0.113.0/24');
  });
});

describe('an answer is checked by the code the config file goes through', () => {
  it('refuses a typo with the builder’s own words, and the same value in a file the same way', async () => {
    const typo = answerProblem(answerFor('sshCidr'), '10.0.0.0/33', so, sandboxFacts);
    expect(typo).toMatch(/^sshCidr: /);
    const file = join(await tempDir(), 'answers.json');
    await writeFile(file, JSON.stringify({ sshCidr: '10.0.0.0/33' }));
    const run = await runInProcess(['plan', '--sandbox', '--config', file, '--state-dir', await tempDir()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(typo);
    expect(answerProblem(answerFor('sshCidr'), '10.0.0.0/16', so, sandboxFacts)).toBeUndefined();
  });

  it('judges an answer with the later ones at their defaults, which follow it (a small Gitaly volume gets fewer IOPS)', () => {
    expect(answerProblem(answerFor('gitaly.volumeSize'), 8, so, sandboxFacts)).toBeUndefined();
    expect(answerProblem(answerFor('gitaly.iops'), 1000, { ...so, gitaly: { volumeSize: 8 } }, sandboxFacts)).toMatch(
      /gitaly\.iops 1000 is out of range for 8 GiB/,
    );
    expect(answerProblem(answerFor('gitlab.instanceType'), 'c5-2xlarge', so, sandboxFacts)).toMatch(/not an EC2 instance type/);
    expect(answerProblem(answerFor('availabilityZones'), ['eu-west-1a', 'eu-west-1b'], so, sandboxFacts)).toMatch(
      /not in region us-west-2/,
    );
  });

  it('refuses a PostgreSQL the GitLab answered does not run on at the prompt, in the words a file gets (16 with GitLab 19)', async () => {
    const pg = answerFor('database.engineVersion');
    const said = answerProblem(pg, '16', { ...so, gitlab: { version: '19' } }, sandboxFacts);
    expect(said).toMatch(/^PostgreSQL 16 is too old for GitLab 19: GitLab 19 needs PostgreSQL 17$/);
    const file = join(await tempDir(), 'answers.json');
    await writeFile(file, JSON.stringify({ gitlab: { version: '19' }, database: { engineVersion: '16' } }));
    const run = await runInProcess(['plan', '--sandbox', '--config', file, '--state-dir', await tempDir()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(said);
    // What fits is no problem: 17 with 19, 16 or 16.5 with 18; 16.4 is too old even for 18.
    expect(answerProblem(pg, '17', { ...so, gitlab: { version: '19' } }, sandboxFacts)).toBeUndefined();
    expect(answerProblem(pg, '16', { ...so, gitlab: { version: '18' } }, sandboxFacts)).toBeUndefined();
    expect(answerProblem(pg, '16.5', { ...so, gitlab: { version: '18.11' } }, sandboxFacts)).toBeUndefined();
    expect(answerProblem(pg, '16.4', { ...so, gitlab: { version: '18.11' } }, sandboxFacts)).toMatch(
      /^PostgreSQL 16\.4 is too old for GitLab 18\.11/,
    );
    // Left to the newest, the wizard knows the newest the region offers (the version question's list) and judges by it.
    const offered = { ...sandboxFacts, gitlabVersions: ['19.5.1', '19.4.1', '18.11.3'] };
    expect(answerProblem(pg, '16', so, offered)).toBe(
      "PostgreSQL 16 is too old for GitLab 19.5.1 (the newest the region's official AMIs offer): GitLab 19 needs PostgreSQL 17",
    );
    expect(answerProblem(pg, '16', so, { ...offered, gitlabVersions: ['18.11.3'] })).toBeUndefined();
    expect(answerProblem(pg, '16', so, sandboxFacts)).toBeUndefined();
    // Given by a file, it is left to preflight (test/preflight.test.ts), not refused at every later answer.
    const fromFile = { ...so, database: { engineVersion: '16' } };
    expect(answerProblem(answerFor('gitlab.version'), undefined, fromFile, offered)).toBeUndefined();
    expect(answerProblem(answerFor('gitlab.instanceType'), 'c5.4xlarge', fromFile, offered)).toBeUndefined();
    // A GitLab version typed after a PostgreSQL one is judged with it too.
    expect(answerProblem(answerFor('gitlab.version'), '19.5', { ...so, database: { engineVersion: '16' } }, sandboxFacts)).toMatch(
      /^PostgreSQL 16 is too old for GitLab 19\.5/,
    );
  });

  it('on real AWS a domain and an SSH key are required answers; the sandbox has its own', () => {
    const real: Facts = { sandbox: false, deployment: 'gitlab' };
    expect(answerProblem(answerFor('domain'), undefined, so, real)).toMatch(/no domain given/);
    expect(answerProblem(answerFor('domain'), undefined, so, sandboxFacts)).toBeUndefined();
    expect(answerProblem(answerFor('sshPublicKeyFile'), undefined, { ...so, domain: 'gitlab.example.org' }, real)).toMatch(
      /no SSH public key/,
    );
    expect(answerProblem(answerFor('region'), undefined, {}, real)).toMatch(/no AWS region given/);
  });
});

describe('answers files', () => {
  it('the config file may name the deployment; --deployment typed too must agree', async () => {
    const file = await sandboxAnswersFile({ deployment: 'lab' });
    const named = await runInProcess(['plan', '--sandbox', '--json', '--config', file, '--state-dir', await tempDir()]);
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout).config.deployment).toBe('lab');
    const same = await runInProcess([
      'plan',
      '--sandbox',
      '--json',
      '--deployment',
      'lab',
      '--config',
      file,
      '--state-dir',
      await tempDir(),
    ]);
    expect(same.code).toBe(0);
    const other = await runInProcess(['plan', '--sandbox', '--deployment', 'prod', '--config', file, '--state-dir', await tempDir()]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^error: --deployment prod and deployment 'lab' in \S+ disagree \(fix: .*\)\n$/);
  });

  it('reads a plan --json document back as its answers (eksctl-style)', async () => {
    const dir = await tempDir();
    const plan = await runInProcess([
      'plan',
      '--sandbox',
      '--json',
      '--state-dir',
      dir,
      '--cache-replicas',
      '3',
      '--domain',
      'git.example.com',
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    const file = join(dir, 'plan.json');
    await writeFile(file, plan.stdout);
    const answers = await readConfigFile(file);
    expect(answers).toMatchObject({ deployment: 'gitlab', region: 'us-west-2', domain: 'git.example.com', cache: { replicas: 3 } });
    // Every answer is there, `null` for those not set, so a wizard has nothing left to ask.
    expect(answers.sshCidr).toBeNull();
    expect(answers.certificateArn).toBeNull();
  });

  it('refuses null where an answer cannot be unset by name, like any unknown key', async () => {
    const file = join(await tempDir(), 'answers.json');
    await writeFile(file, JSON.stringify({ database: null }));
    await expect(readConfigFile(file)).rejects.toThrow(/database/);
  });
});
