import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { gitlabRelease, newestGitlabImage, offeredVersions } from '../src/steps/machine-images.js';

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
