import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { poll, retryWhile, WaitTimeout } from '../src/aws/poll.js';
import { readState } from '../src/state/store.js';
import { instantClock, runCli, tempDir } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';

describe('when AWS says no', () => {
  it('a failing step exits 1, keeps everything else, names the fix and the resume command; resume then finishes', async () => {
    const dir = await tempDir();
    // The credentials may not create a VPC (preflight cannot know: only the call itself tells).
    const plan = await planFor(dir);
    const denied = { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ denied: ['ec2:CreateVpc'] }) };
    const failed = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir], denied);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/✖ VPC: FAILED/);
    expect(failed.stderr).toMatch(/✖ vpc: .*ec2:CreateVpc/);
    expect(failed.stderr).toMatch(/fix: /);
    expect(failed.stderr).toMatch(/State saved in .*gitlab\.json\. Continue with: gitlab-aws resume --state-dir \S+ --sandbox/);
    const state = (await readState(join(dir, 'gitlab.json')))!;
    expect(state.steps.vpc!.status).toBe('failed');
    expect(state.steps['s3-buckets']!.status).toBe('complete'); // independent work went on and is kept

    // The permission granted, the resume finishes.
    const resumed = await runCli(['resume', '--sandbox', '--yes', '--state-dir', dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('S3 buckets: already done');
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
  });

  it('a wait that runs out says what it waited for and what it last saw', async () => {
    const clock = instantClock();
    const waiting = poll({ clock, what: 'NAT gateway nat-1 to become available', timeoutMs: 10 * 60_000 }, async () => ({
      done: false,
      seen: 'pending',
    }));
    await expect(waiting).rejects.toThrow(WaitTimeout);
    await expect(waiting).rejects.toThrow('timed out after 10m00s waiting for NAT gateway nat-1 to become available; last seen: pending');
  });

  it('retries only the errors it was told to, with the last one in the message', async () => {
    const clock = instantClock();
    const notFound = Object.assign(new Error('The vpc ID does not exist'), { name: 'InvalidVpcID.NotFound' });
    let calls = 0;
    const value = await retryWhile(['not-found'], { clock, what: 'VPC to be visible', timeoutMs: 60_000 }, async () => {
      if (++calls < 3) throw notFound;
      return 'seen';
    });
    expect([value, calls]).toEqual(['seen', 3]);
    const denied = Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' });
    await expect(
      retryWhile(['not-found'], { clock, what: 'x', timeoutMs: 60_000 }, async () => {
        throw denied;
      }),
    ).rejects.toBe(denied);
    await expect(
      retryWhile(['not-found'], { clock, what: 'VPC to be visible', timeoutMs: 60_000 }, async () => {
        throw notFound;
      }),
    ).rejects.toThrow(/waiting for VPC to be visible; last seen: InvalidVpcID.NotFound: The vpc ID does not exist/);
  });
});
