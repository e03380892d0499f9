import { describe, expect, it } from 'vitest';
import { installSummary } from '../src/commands/install/summary.js';
import { buildInstallConfig } from '../src/config/schema.js';
import { newStateDoc } from '../src/state/store.js';
import type { StateDoc } from '../src/state/schema.js';

/**
 * The install's last message, as an operator reads it and as a script parses it (--json): every
 * line of it comes from the state file, so it is checked from state documents here; the sandbox
 * install that prints it is in test/image.e2e.test.ts.
 */

const BASTIONS = {
  hosts: [
    { zone: 'a', name: 'gitlab-bastion-host-a', instanceId: 'i-0aaa', publicIp: '198.51.100.10', allocationId: 'eipalloc-a' },
    { zone: 'b', name: 'gitlab-bastion-host-b', instanceId: 'i-0bbb', publicIp: '198.51.100.11', allocationId: 'eipalloc-b' },
  ],
};
const GROUP = {
  name: 'gitlab-auto-scaling-group',
  arn: 'arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:x:autoScalingGroupName/gitlab-auto-scaling-group',
  launchTemplateVersion: '1',
  instances: [
    { instanceId: 'i-0c01', privateIp: '10.0.1.20', availabilityZone: 'us-west-2a' },
    { instanceId: 'i-0c02', privateIp: '10.0.3.30', availabilityZone: 'us-west-2b' },
  ],
};

function installed(zone: { created: boolean; nameServers: string[] }): StateDoc {
  const doc = newStateDoc({
    deployment: 'gitlab',
    installId: 'summary-test',
    sandbox: true,
    writtenBy: 'gitlab-aws test',
    config: buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', file: { domain: 'gitlab.example.org' } }),
  });
  const complete = (outputs: unknown) => ({ status: 'complete' as const, outputs: outputs as Record<string, unknown> });
  doc.steps['bastion-hosts'] = complete(BASTIONS);
  doc.steps['auto-scaling-group'] = complete(GROUP);
  doc.steps['hosted-zone'] = complete({ zoneId: 'Z1', zoneName: 'example.org', ...zone });
  return doc;
}

const options = { deployment: 'gitlab', stateDir: './.gitlab-aws', sandbox: false };

describe('the install summary', () => {
  it('says where GitLab is, how to read the root password, and gives ready-to-paste ssh -A lines', () => {
    const message = installSummary(options, installed({ created: false, nameServers: [] }));
    expect(message.code).toBe('install.summary');
    const lines = message.text.split('\n');
    expect(lines[0]).toBe('GitLab: https://gitlab.example.org');
    expect(lines).toContain('Sign in as root; the password: gitlab-aws root-password');
    expect(lines).toContain('  ssh -A ubuntu@198.51.100.10    # gitlab-bastion-host-a');
    expect(lines).toContain('  ssh -A ubuntu@198.51.100.11    # gitlab-bastion-host-b');
    // A GitLab node is private: reached by jumping through bastion A, the agent forwarded.
    expect(lines).toContain('  ssh -A -J ubuntu@198.51.100.10 ubuntu@10.0.1.20    # i-0c01');
    expect(message.text).not.toMatch(/name servers/i);
  });

  it('builds the root-password command with what locates this deployment, so it works when pasted', () => {
    const message = installSummary(
      { deployment: 'team b', stateDir: '/srv/state', sandbox: true, profile: 'ops' },
      installed({ created: false, nameServers: [] }),
    );
    expect(message.text).toContain(
      "the password: gitlab-aws root-password --deployment 'team b' --state-dir /srv/state --profile ops --sandbox",
    );
  });

  it('names the name servers to set at the registrar when the install created the zone', () => {
    const message = installSummary(options, installed({ created: true, nameServers: ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.net'] }));
    expect(message.text).toContain(
      'Hosted zone example.org was created: set its name servers at your registrar: ns-1.awsdns-01.org ns-2.awsdns-02.net',
    );
    expect(message.data).toMatchObject({ nameServers: { zone: 'example.org', nameServers: ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.net'] } });
  });

  it("lists the guide's one-time follow-ups: authorized_keys off once SSH works, and a runner", () => {
    const { text } = installSummary(options, installed({ created: false, nameServers: [] }));
    expect(text).toContain('Admin > Settings > Network > Performance optimization');
    expect(text).toContain('authorized_keys_enabled=false');
    expect(text).toMatch(/register at least one runner/);
  });

  it('carries the same facts as data for --json', () => {
    const { data } = installSummary(options, installed({ created: false, nameServers: [] }));
    expect(data).toEqual({
      url: 'https://gitlab.example.org',
      rootPassword: { username: 'root', command: 'gitlab-aws root-password' },
      bastions: [
        { name: 'gitlab-bastion-host-a', publicIp: '198.51.100.10', ssh: 'ssh -A ubuntu@198.51.100.10' },
        { name: 'gitlab-bastion-host-b', publicIp: '198.51.100.11', ssh: 'ssh -A ubuntu@198.51.100.11' },
      ],
      gitlabNodes: GROUP.instances.map((i) => ({ ...i, ssh: `ssh -A -J ubuntu@198.51.100.10 ubuntu@${i.privateIp}` })),
      followUps: [
        { id: 'authorized-keys', text: expect.stringContaining('authorized_keys') },
        { id: 'runner', text: expect.stringContaining('runner') },
      ],
    });
  });
});
