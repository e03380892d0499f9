import { describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readState } from '../src/state/store.js';
import { GUIDE_STEPS } from '../src/steps/index.js';
import { inInventory, readWorld, runCli, sandboxInventory, tempDir } from './helpers.js';

const install = (dir: string, deployment: string, env: Record<string, string> = {}, extra: string[] = []) =>
  // Each deployment answers on a name of its own: one domain has one alias record.
  runCli(
    ['install', '--sandbox', '--yes', '--json', '--state-dir', dir, '--deployment', deployment, '--domain', `${deployment}.example.com`, ...extra],
    env,
  );
const teardown = (dir: string, deployment: string) =>
  runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir, '--deployment', deployment]);

async function recordedIds(dir: string, deployment: string): Promise<string[]> {
  return (await readState(join(dir, `${deployment}.json`)))!.resources.filter(inInventory).map((r) => r.id);
}

const ids = (resources: Array<{ type: string; id: string }>) => resources.map((r) => `${r.type} ${r.id}`).sort();

describe('the sandbox world is one AWS account shared by every run on a state directory', () => {
  it('two deployments installed at the same time both complete, hold disjoint resources and tear down independently', async () => {
    const dir = await tempDir();
    // One deployment takes four Elastic IPs (two NAT gateways, two bastions) of the five a region
    // allows by default, so the second is built in another region of the same account.
    const [a, b] = await Promise.all([install(dir, 'a'), install(dir, 'b', {}, ['--region', 'us-east-1'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);

    const [recordedA, recordedB] = [await recordedIds(dir, 'a'), await recordedIds(dir, 'b')];
    expect(recordedA.filter((id) => recordedB.includes(id))).toEqual([]);
    const [heldA, heldB] = [await sandboxInventory(dir, 'a'), await sandboxInventory(dir, 'b')];
    expect(heldA.map((r) => r.id).sort()).toEqual([...recordedA].sort());
    expect(heldB.map((r) => r.id).sort()).toEqual([...recordedB].sort());
    expect(heldA.length).toBeGreaterThan(30);

    const goneA = await teardown(dir, 'a');
    expect(goneA.code, goneA.stderr).toBe(0);
    expect(await sandboxInventory(dir, 'a')).toEqual([]);
    expect(ids(await sandboxInventory(dir, 'b'))).toEqual(ids(heldB));

    const goneB = await teardown(dir, 'b');
    expect(goneB.code, goneB.stderr).toBe(0);
    expect(await sandboxInventory(dir, 'b')).toEqual([]);
  });

  it('honours a seed: the foreign VPC and security group it stages stand beside ours and outlive our teardown', async () => {
    const dir = await tempDir();
    const seed = join(dir, 'seed.json');
    await writeFile(
      seed,
      JSON.stringify({
        calls: [
          { service: 'ec2', call: 'CreateVpc', input: { CidrBlock: '10.0.0.0/16' }, as: 'theirVpc' },
          {
            service: 'ec2',
            call: 'CreateSecurityGroup',
            input: { GroupName: 'gitlab-loadbalancer-sec-group', Description: 'theirs, same name', VpcId: '${theirVpc.Vpc.VpcId}' },
            as: 'theirGroup',
          },
        ],
      }),
    );
    const env = { GITLAB_AWS_SANDBOX_SEED: seed };
    const live = async (kind: string) =>
      Object.values((await readWorld(dir))!.ec2)
        .filter((r) => r.kind === kind && r.goneAt === undefined)
        .map((r) => r.id);

    const installed = await install(dir, 'gitlab', env);
    expect(installed.code, installed.stderr).toBe(0);
    const [theirVpc, ...others] = await live('vpc');
    expect(others).toHaveLength(1); // ours, beside theirs (same CIDR: AWS allows that)
    expect(await recordedIds(dir, 'gitlab')).not.toContain(theirVpc);
    const groups = await live('security-group');
    const theirGroup = Object.values((await readWorld(dir))!.ec2).find((r) => r.kind === 'security-group' && r.attrs.vpcId === theirVpc)!;
    expect(groups).toContain(theirGroup.id);

    const gone = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir], env);
    expect(gone.code, gone.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    expect(await live('vpc')).toEqual([theirVpc]);
    expect(await live('security-group')).toContain(theirGroup.id);
  });
});

describe('a seeded parameter under our SSM path that we did not make', () => {
  // The secrets step's discover and destroy check the deployment tag: the path is no proof.
  it('is visible after the install and survives our teardown', async () => {
    const dir = await tempDir();
    const seed = join(dir, 'seed.json');
    const theirs = '/gitlab-aws/gitlab/left-by-hand';
    await writeFile(
      seed,
      JSON.stringify({ calls: [{ service: 'ssm', call: 'PutParameter', input: { Name: theirs, Value: 'x', Type: 'String' } }] }),
    );
    const env = { GITLAB_AWS_SANDBOX_SEED: seed };
    const parameters = async () => Object.values((await readWorld(dir))!.ssm.parameters).map((p) => p.name);

    expect((await install(dir, 'gitlab', env)).code).toBe(0);
    expect(await parameters()).toContain(theirs);
    expect(await recordedIds(dir, 'gitlab')).not.toContain(theirs);
    expect((await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir], env)).code).toBe(0);
    expect(await parameters()).toEqual([theirs]);
  });
});

describe('the sandbox is deterministic', () => {
  /** Each step's simulated duration and the run's, from the --json events of a fresh install. */
  async function timeline(env: Record<string, string>) {
    const run = await install(await tempDir(), 'gitlab', env);
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step?: string; elapsedMs?: number });
    const steps = events.filter((e) => e.type === 'step-finished').map((e) => `${e.step} ${e.elapsedMs}`);
    const finished = events.find((e) => e.type === 'run-finished')!;
    return { steps: steps.sort(), run: finished.elapsedMs };
  }

  it('the same seed gives the same simulated timeline, with and without injected faults', async () => {
    const faults = { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ seed: 7, throttleRate: 0.3, serverErrorRate: 0.1, consistencyLag: 3 }) };
    const plain = await timeline({});
    expect(await timeline({})).toEqual(plain);
    const faulty = await timeline(faults);
    expect(await timeline(faults)).toEqual(faulty);
    // Every step of the guide ran and was timed.
    expect(plain.steps).toHaveLength(GUIDE_STEPS.length);
    // The faults were thrown: retried throttles, errors and missed lookups change the timeline
    // (not necessarily lengthen it: a shifted poll can catch a NAT gateway sooner).
    expect(faulty).not.toEqual(plain);
  });
});

describe('bad sandbox input is refused before anything happens', () => {
  async function contents(dir: string) {
    const files: Record<string, string> = {};
    for (const name of await readdir(dir)) files[name] = await readFile(join(dir, name), 'utf8');
    return files;
  }

  it.each([
    [
      'an invalid fault variable',
      { GITLAB_AWS_SANDBOX_FAULTS: '{"throttleRate":1.5}' },
      undefined,
      /GITLAB_AWS_SANDBOX_FAULTS is invalid \(throttleRate/,
    ],
    [
      'a fault variable that is not JSON',
      { GITLAB_AWS_SANDBOX_FAULTS: 'crashAfter=5' },
      undefined,
      /GITLAB_AWS_SANDBOX_FAULTS is not valid JSON/,
    ],
    ['a bad speed', { GITLAB_AWS_SANDBOX_SPEED: 'fast' }, undefined, /GITLAB_AWS_SANDBOX_SPEED is not a positive number/],
    ['a world file that fails validation', {}, '{"version":1,"accountId":"123456789012"}', /sandbox world .* is unusable \(simNow: /],
    [
      'a world file that is not JSON',
      {},
      '{"version":1,',
      /sandbox world .* is unusable \(it is not valid JSON\).*delete it to start an empty sandbox/,
    ],
    [
      'a seed naming an unknown call',
      { GITLAB_AWS_SANDBOX_SEED: 'SEED' },
      undefined,
      /sandbox seed .*: calls\[0\] ec2:CreateVpcs: the sandbox does not implement/,
    ],
  ])('%s: one line, exit 2, the state directory as it was', async (_label, env, world, message) => {
    const dir = await tempDir();
    if (world) await writeFile(join(dir, 'sandbox-world.json'), world);
    const seed = join(dir, 'seed.json');
    await writeFile(seed, JSON.stringify({ calls: [{ service: 'ec2', call: 'CreateVpcs' }] }));
    const before = await contents(dir);
    const run = await install(dir, 'gitlab', Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === 'SEED' ? seed : v])));
    const lines = run.stderr.trim().split('\n');
    expect(run.code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*\(fix: /);
    expect(lines[0]).toMatch(message);
    expect(await contents(dir)).toEqual(before);
  });
});

describe('a seeded parameter with the name of one of our secrets', () => {
  it('stops the install naming it, and is never overwritten', async () => {
    const dir = await tempDir();
    const seed = join(dir, 'seed.json');
    const name = '/gitlab-aws/gitlab/root-password';
    await writeFile(
      seed,
      JSON.stringify({ calls: [{ service: 'ssm', call: 'PutParameter', input: { Name: name, Value: 'theirs', Type: 'SecureString' } }] }),
    );
    const env = { GITLAB_AWS_SANDBOX_SEED: seed };
    const failed = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`SSM parameter ${name} exists and does not belong to deployment 'gitlab'`);
    expect(Object.values((await readWorld(dir))!.ssm.parameters).find((p) => p.name === name)?.value).toBe('theirs');
    expect(await recordedIds(dir, 'gitlab')).not.toContain(name);
  });
});
