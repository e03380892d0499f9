import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { buildInstallConfig } from '../src/config/schema.js';
import {
  ImageRefusal,
  UBUNTU_PARAMETER,
  gitlabRelease,
  lookUpImages,
  newestGitlabImage,
  offeredVersions,
} from '../src/steps/machine-images.js';
import { runCli } from './helpers.js';
import { failure, sandboxFixtures } from './sandbox-fixtures.js';

/** An official image as DescribeImages lists it; CreationDate deliberately out of version order. */
const image = (name: string, extra: Partial<Image> = {}): Image => ({
  ImageId: `ami-${Buffer.from(name).toString('hex').slice(-17).padStart(17, '0')}`,
  Name: name,
  State: 'available',
  Architecture: name.endsWith('(ARM64)') ? 'arm64' : 'x86_64',
  CreationDate: '2026-01-01T00:00:00.000Z',
  ...extra,
});

const REGION_OFFERS = [
  image('GitLab EE 18.9.3', { CreationDate: '2026-11-30T00:00:00.000Z' }),
  image('GitLab EE 18.10.1'),
  image('GitLab EE 19.5.2'),
  image('GitLab EE 19.5.10'),
  image('GitLab EE 19.50.0'),
  image('GitLab EE 19.10.0'),
  image('GitLab EE 19.11.0 (ARM64)'),
  image('GitLab EE 19.12.0', { State: 'pending' }),
  image('GitLab EE 20.0.0'),
  image('GitLab CE 19.11.1'),
  image('GitLab EE 19.9.0-rc1'),
];

const newest = (wanted: string | undefined, edition: 'ee' | 'ce' = 'ee') => newestGitlabImage(REGION_OFFERS, edition, wanted)?.Name;

describe('the official GitLab AMI for the answers', () => {
  it('takes the newest patch of the chosen minor by the parsed version, not the string (19.5.10 after 19.5.2)', () => {
    expect(newest('19.5')).toBe('GitLab EE 19.5.10');
  });

  it('takes the newest supported release overall by version, not by creation date (18.9.3 was made last)', () => {
    expect(newest(undefined)).toBe('GitLab EE 19.50.0');
    expect(
      newestGitlabImage(
        REGION_OFFERS.filter((i) => i.Name !== 'GitLab EE 19.50.0'),
        'ee',
        undefined,
      )?.Name,
    ).toBe('GitLab EE 19.10.0');
  });

  it('keeps to the major asked (18 finds 18.10.1, not 18.9.3) and never a major this installer does not render (20.x)', () => {
    expect(newest('18')).toBe('GitLab EE 18.10.1');
    expect(newest(undefined)).not.toMatch(/ 20\./);
  });

  it('an exact version is that image only; a minor never matches a longer one (19.5 is not 19.50)', () => {
    expect(newest('19.5.2')).toBe('GitLab EE 19.5.2');
    expect(newest('19.5.3')).toBeUndefined();
    expect(newest('19.50')).toBe('GitLab EE 19.50.0');
  });

  it('skips ARM64 images, images not yet available, release candidates and the other edition', () => {
    expect(newest('19.11')).toBeUndefined();
    expect(newest('19.12')).toBeUndefined();
    expect(newest('19.9')).toBeUndefined();
    expect(newest(undefined, 'ce')).toBe('GitLab CE 19.11.1');
  });

  it('names the versions the region offers, newest first, for the refusal', () => {
    expect(offeredVersions(REGION_OFFERS, 'ee')).toEqual(['19.50.0', '19.10.0', '19.5.10', '19.5.2', '18.10.1', '18.9.3']);
  });

  it('reads the release from an image name only in the official form', () => {
    expect(gitlabRelease('GitLab CE 18.4.0')).toMatchObject({ edition: 'ce', version: '18.4.0' });
    expect(gitlabRelease('ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101')).toBeUndefined();
    expect(gitlabRelease('GitLab EE 19.5.1 (ARM64)')).toBeUndefined();
  });
});

const { stateDir, keep } = sandboxFixtures('gitlab-aws-images-');
const REGION = 'us-west-2';

describe('the images an install boots from, as the region offers them', () => {
  it("takes the newest release the official AMIs offer, the newest patch of a minor, and Ubuntu 24.04 from Canonical's parameter", async () => {
    const dir = await stateDir();
    const aws = keep(await createAwsSession({ region: REGION, sandbox: { stateDir: dir } }));
    const ec2 = await aws.ec2();
    const ssm = await aws.ssm();
    const config = (file = {}) => buildInstallConfig({ deployment: 'gitlab', region: REGION, file, sandbox: true });
    const ubuntu = (await ssm.getParameter({ Name: UBUNTU_PARAMETER })).Parameter!.Value!;

    const newest = await lookUpImages(ec2, ssm, config());
    expect(newest.gitlab).toMatchObject({ edition: 'ee', version: '19.5.1', name: 'GitLab EE 19.5.1' });
    expect(newest.bastion.imageId).toBe(ubuntu);
    expect(newest.gitaly.imageId).toBe(ubuntu);
    // 18.11.3 was published after 19.5.0: the version decides, not the date.
    expect((await lookUpImages(ec2, ssm, config({ gitlab: { version: '18' } }))).gitlab.version).toBe('18.11.3');
    expect((await lookUpImages(ec2, ssm, config({ gitlab: { version: '19.4' } }))).gitlab.version).toBe('19.4.1');
    const ce = await lookUpImages(ec2, ssm, config({ gitlab: { edition: 'ce', amiId: undefined } }));
    expect(ce.gitlab.name).toBe('GitLab CE 19.5.1');

    // An Ubuntu image named as the GitLab AMI is refused for what it is.
    const wrong = await failure(lookUpImages(ec2, ssm, config({ gitlab: { amiId: ubuntu } })));
    expect(wrong).toBeInstanceOf(ImageRefusal);
    expect(wrong.message).toMatch(new RegExp(`gitlab.amiId ${ubuntu} is '.*ubuntu.*', not a GitLab EE image`));
    // The official AMI by ID gives its release; a configured bastion image is taken as it is.
    const byId = await lookUpImages(ec2, ssm, config({ gitlab: { amiId: newest.gitlab.imageId }, bastion: { amiId: ubuntu } }));
    expect(byId.gitlab).toEqual(newest.gitlab);
  });

  it('install refuses, before anything, a version the region does not offer, naming those it does (exit 2, one line)', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, 'answers.json'), JSON.stringify({ gitlab: { version: '19.6' } }));
    const run = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir, '--config', join(dir, 'answers.json')]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^error: the official GitLab EE AMIs in us-west-2 offer no version 19\.6 \(they offer 19\.5\.1, 19\.5\.0, 19\.4\.1, 19\.4\.0, 19\.3\.2, 19\.2\.1, 19\.2\.0, 19\.1\.3, 19\.0\.2\) \(fix: set gitlab\.version to one of those/,
    );
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });

  it('install refuses an AMI ID that does not exist in the region (exit 2, one line)', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, 'answers.json'), JSON.stringify({ gitaly: { amiId: 'ami-0123456789abcdef0' } }));
    const run = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir, '--config', join(dir, 'answers.json')]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^error: gitaly\.amiId ami-0123456789abcdef0 does not exist in us-west-2 \(fix: give an AMI ID of this region/,
    );
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });
});
