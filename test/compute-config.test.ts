import { describe, expect, it } from 'vitest';
import { buildInstallConfig, installConfigSchema, type ConfigFile } from '../src/config/schema.js';
import { sandboxPublicKey } from '../src/config/ssh-key.js';

const build = (file: ConfigFile, sshPublicKey?: string) =>
  buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', file, ...(sshPublicKey !== undefined ? { sshPublicKey } : {}) });
const refusal = (file: ConfigFile, sshPublicKey?: string) => {
  try {
    build(file, sshPublicKey);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('the compute answers', () => {
  it('take what the file gives over the guide defaults, one key at a time', () => {
    const config = build({ gitlab: { version: '18.11' }, gitaly: { iops: 500 }, autoScaling: { max: 6, scaleUpCpu: 70 } });
    expect(config.gitlab).toEqual({ edition: 'ee', instanceType: 'c5.2xlarge', version: '18.11' });
    expect(config.gitaly).toEqual({ instanceType: 'm5.xlarge', volumeSize: 20, iops: 500 });
    expect(config.autoScaling).toMatchObject({ min: 2, desired: 2, max: 6, scaleUpCpu: 70, scaleDownCpu: 45 });
  });

  it('read a state file written before the compute answers existed as the guide defaults', () => {
    const { gitlab, gitaly, bastion, autoScaling, ...older } = build({});
    expect(installConfigSchema.parse(older)).toMatchObject({ gitlab, gitaly, bastion, autoScaling });
  });

  it.each<[string, ConfigFile, RegExp]>([
    ['an edition GitLab does not ship', { gitlab: { edition: 'premium' } }, /gitlab.edition 'premium'/],
    [
      'a major this installer does not render for',
      { gitlab: { version: '17.11' } },
      /gitlab.version '17.11' is not a GitLab version this installer supports/,
    ],
    ['a version that is no version', { gitlab: { version: 'latest' } }, /gitlab.version 'latest'/],
    [
      'an instance type EC2 does not name that way',
      { gitlab: { instanceType: 'c5-2xlarge' } },
      /gitlab.instanceType 'c5-2xlarge' is not an EC2 instance type/,
    ],
    ['a malformed AMI ID', { bastion: { amiId: 'ami-xyz' } }, /bastion.amiId 'ami-xyz' is not an AMI ID/],
    ['an io1 volume below its minimum', { gitaly: { volumeSize: 2 } }, /gitaly.volumeSize 2 GiB is out of range/],
    [
      'more IOPS than 50 per GiB',
      { gitaly: { volumeSize: 10, iops: 1000 } },
      /gitaly.iops 1000 is out of range for 10 GiB of io1: 100 to 500/,
    ],
    ['sizes out of order', { autoScaling: { min: 3, desired: 2 } }, /min 3, desired 2, max 4 are not in order/],
    ['an empty group', { autoScaling: { min: 0, desired: 0 } }, /are not in order: 1 <= min/],
    ['a fractional grace period', { autoScaling: { healthCheckGracePeriod: 1.5 } }, /autoScaling.healthCheckGracePeriod 1.5/],
    ['thresholds the wrong way round', { autoScaling: { scaleUpCpu: 40, scaleDownCpu: 45 } }, /down 45% and up 40% must satisfy/],
  ])('refuse %s before anything is made', (_what, file, message) => {
    expect(refusal(file)).toMatch(message);
  });

  it('refuse a private key or any text that is not an OpenSSH public key', () => {
    expect(refusal({}, '-----BEGIN OPENSSH PRIVATE KEY-----')).toMatch(/not an OpenSSH public key/);
    expect(refusal({}, sandboxPublicKey('gitlab'))).toBe('accepted');
  });

  it("derive the sandbox's key from the deployment, so a resume's answers compare equal", () => {
    expect(sandboxPublicKey('gitlab')).toBe(sandboxPublicKey('gitlab'));
    expect(sandboxPublicKey('gitlab')).not.toBe(sandboxPublicKey('other'));
    expect(sandboxPublicKey('gitlab')).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} gitlab-aws-sandbox-gitlab$/);
  });
});
