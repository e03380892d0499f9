import { describe, expect, it } from 'vitest';
import type { EC2, Instance } from '@aws-sdk/client-ec2';
import { createAwsSession } from '../src/aws/clients.js';
import { sandboxPublicKey } from '../src/config/ssh-key.js';
import { readState, statePaths } from '../src/state/store.js';
import type { StepRef } from '../src/engine/step.js';
import { baseInstance } from '../src/steps/base-instance.js';
import { bastionHosts } from '../src/steps/bastion-hosts.js';
import { gitaly } from '../src/steps/gitaly.js';
import { iamRole } from '../src/steps/iam-role.js';
import { loadBalancer } from '../src/steps/load-balancer.js';
import { machineImages } from '../src/steps/machine-images.js';
import { securityGroups } from '../src/steps/security-groups.js';
import { subnets as subnetsStep } from '../src/steps/subnets.js';
import { runCli, sandboxInventory } from './helpers.js';
import { installUntil } from './install-until.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

/**
 * The guide's "Setting up Bastion Hosts" and "Install GitLab" up to the configured base instance,
 * read back as an operator would with the AWS CLI: the key pair, two bastions with their Elastic
 * IPs, Gitaly on io1, the base instance healthy in the HTTP target group; every instance with
 * IMDSv2 required, an encrypted root volume and tags on both. (The AMI bake and the group after
 * it are tested with their steps.)
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-compute-');
const MY_STEPS = ['machine-images', 'key-pair', 'bastion-hosts', 'gitaly', 'base-instance'];
const UNTIL_BASE = ['base-instance'];

async function look(dir: string) {
  const session = keep(await createAwsSession({ region: REGION, sandbox: { stateDir: dir } }));
  return { ec2: await session.ec2(), elb: await session.elbv2(), session };
}

async function instances(ec2: EC2): Promise<Map<string, Instance>> {
  const found = (await ec2.describeInstances({ Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }] })).Reservations ?? [];
  const byName = new Map<string, Instance>();
  for (const i of found.flatMap((r) => r.Instances ?? [])) {
    if (i.State?.Name === 'terminated') continue;
    byName.set(i.Tags?.find((t) => t.Key === 'Name')?.Value ?? '', i);
  }
  return byName;
}

const mine = (lines: string[]) => lines.filter((line) => MY_STEPS.includes(line.split(' ')[0]!));

async function state(dir: string) {
  return (await readState(statePaths(dir, 'gitlab').file))!;
}

describe('bastions, Gitaly and the base GitLab instance', () => {
  it('builds them as the guide says: IMDSv2, encrypted and tagged volumes, Elastic IPs, the base healthy behind the NLB; a resume makes nothing new; teardown leaves none', async () => {
    const dir = await stateDir();
    const plan = await planFor(dir);
    const run = await installUntil(dir, UNTIL_BASE);
    expect(run.failures).toEqual([]);
    expect(run.stopped).toBe(true);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(mine(held)).toEqual(mine(planned));
    expect(mine(planned)).toEqual([
      'base-instance AWS::EC2::Instance gitlab-gitlab-source',
      'bastion-hosts AWS::EC2::EIP gitlab-bastion-host-a-eip',
      'bastion-hosts AWS::EC2::EIP gitlab-bastion-host-b-eip',
      'bastion-hosts AWS::EC2::Instance gitlab-bastion-host-a',
      'bastion-hosts AWS::EC2::Instance gitlab-bastion-host-b',
      'gitaly AWS::EC2::Instance gitlab-gitaly',
      'key-pair AWS::EC2::KeyPair gitlab-key',
    ]);

    const { ec2, elb, session } = await look(dir);
    const doc = await state(dir);
    const outputs = <T>(step: StepRef<string, T>): T => step.outputs.parse(doc.steps[step.id]!.outputs);
    const groups = outputs(securityGroups).groupIds;
    const subnets = outputs(subnetsStep);
    const profile = outputs(iamRole).instanceProfileArn;
    const images = outputs(machineImages);
    expect(images.gitlab.name).toMatch(/^GitLab EE \d+\.\d+\.\d+$/);

    const found = await instances(ec2);
    const expected = {
      'gitlab-bastion-host-a': { subnet: subnets.publicSubnetIds[0], group: groups.bastion, image: images.bastion.imageId, profile: false },
      'gitlab-bastion-host-b': { subnet: subnets.publicSubnetIds[1], group: groups.bastion, image: images.bastion.imageId, profile: false },
      'gitlab-gitaly': { subnet: subnets.subnets.privateA.id, group: groups.gitaly, image: images.bastion.imageId, profile: true },
      'gitlab-gitlab-source': {
        subnet: subnets.subnets.privateA.id,
        group: groups.loadbalancer,
        image: images.gitlab.imageId,
        profile: true,
      },
    };
    expect([...found.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const instance = found.get(name)!;
      expect(instance, name).toMatchObject({
        State: { Name: 'running' },
        SubnetId: want.subnet,
        ImageId: want.image,
        KeyName: 'gitlab-key',
        MetadataOptions: expect.objectContaining({ HttpTokens: 'required' }),
      });
      expect(instance.SecurityGroups?.map((g) => g.GroupId)).toEqual([want.group]);
      expect(Boolean(instance.IamInstanceProfile?.Arn), name).toBe(want.profile);
      if (want.profile) expect(instance.IamInstanceProfile?.Arn).toBe(profile);
      const volumes = (await ec2.describeVolumes({})).Volumes!.filter((v) =>
        v.Attachments?.some((a) => a.InstanceId === instance.InstanceId),
      );
      expect(volumes.length, name).toBeGreaterThan(0);
      for (const volume of volumes) {
        expect(volume.Encrypted, name).toBe(true);
        expect(volume.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'Name', Value: name },
            { Key: 'gitlab-aws:deployment', Value: 'gitlab' },
          ]),
        );
      }
      if (name === 'gitlab-gitaly') expect(volumes[0]).toMatchObject({ VolumeType: 'io1', Size: 20, Iops: 1000 });
    }

    // Each bastion is reachable at its own tagged Elastic IP, and only there.
    const addresses = (await ec2.describeAddresses({ Filters: [{ Name: 'tag:gitlab-aws:step', Values: ['bastion-hosts'] }] })).Addresses!;
    const hosts = outputs(bastionHosts).hosts;
    expect(hosts.map((h) => h.name)).toEqual(['gitlab-bastion-host-a', 'gitlab-bastion-host-b']);
    for (const host of hosts) {
      const address = addresses.find((a) => a.InstanceId === host.instanceId);
      expect(address?.PublicIp, host.name).toBe(host.publicIp);
      expect(found.get(host.name)!.PublicIpAddress ?? host.publicIp).toBe(host.publicIp);
    }
    expect(found.get('gitlab-gitaly')!.PublicIpAddress).toBeUndefined();
    expect(found.get('gitlab-gitlab-source')!.PublicIpAddress).toBeUndefined();

    // The base instance answers healthy through the load balancer's HTTP target group.
    const base = found.get('gitlab-gitlab-source')!;
    const http = outputs(loadBalancer).targetGroupArns.http;
    const health = (await elb.describeTargetHealth({ TargetGroupArn: http })).TargetHealthDescriptions!;
    expect(health.find((t) => t.Target?.Id === base.InstanceId)?.TargetHealth?.State).toBe('healthy');
    expect(outputs(baseInstance)).toEqual({ instanceId: base.InstanceId, name: 'gitlab-gitlab-source', privateIp: base.PrivateIpAddress });
    await session.close();

    // A resume verifies what stands and makes nothing new.
    const before = (await sandboxInventory(dir)).map((r) => r.id).sort();
    const again = await installUntil(dir, UNTIL_BASE);
    expect(again.failures).toEqual([]);
    for (const id of MY_STEPS) {
      expect(again.host.events).toContainEqual(expect.objectContaining({ type: 'step-finished', step: id, outcome: 'verified' }));
    }
    expect((await sandboxInventory(dir)).map((r) => r.id).sort()).toEqual(before);

    const down = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir, '--delete-data', '--skip-final-snapshot']);
    expect(down.code, down.stderr).toBe(0);
    expect((await sandboxInventory(dir)).filter((r) => MY_STEPS.includes(r.step ?? ''))).toEqual([]);
  });

  it('a Gitaly or base instance terminated by hand is launched anew on resume, never replayed by its token', async () => {
    const dir = await stateDir();
    expect((await installUntil(dir, UNTIL_BASE)).failures).toEqual([]);
    const { ec2, session } = await look(dir);
    const first = await instances(ec2);
    const oldGitaly = first.get('gitlab-gitaly')!.InstanceId!;
    const oldBase = first.get('gitlab-gitlab-source')!.InstanceId!;
    // Gitaly goes while its step is complete: its replacement has another IP, so the base
    // instance (whose gitlab.rb named the old one) is replaced too.
    await ec2.terminateInstances({ InstanceIds: [oldGitaly] });
    await session.close();

    const resumed = await installUntil(dir, UNTIL_BASE);
    expect(resumed.failures).toEqual([]);
    const look2 = await look(dir);
    const second = await instances(look2.ec2);
    const newGitaly = second.get('gitlab-gitaly')!;
    const newBase = second.get('gitlab-gitlab-source')!;
    expect(newGitaly.InstanceId).not.toBe(oldGitaly);
    expect(newGitaly.State?.Name).toBe('running');
    expect(newBase.InstanceId).not.toBe(oldBase);
    const doc = await state(dir);
    expect(gitaly.outputs.parse(doc.steps.gitaly!.outputs).privateIp).toBe(newGitaly.PrivateIpAddress);
    // The state tracks the instances that stand, not the ones that are gone.
    expect(doc.resources.filter((r) => r.type === 'AWS::EC2::Instance' && [oldGitaly, oldBase].includes(r.id))).toEqual([]);

    // The base goes too, while its step is complete and before it was imaged: a new one, healthy.
    await look2.ec2.terminateInstances({ InstanceIds: [newBase.InstanceId!] });
    await look2.session.close();
    const third = await installUntil(dir, UNTIL_BASE);
    expect(third.failures).toEqual([]);
    const look3 = await look(dir);
    const base = (await instances(look3.ec2)).get('gitlab-gitlab-source')!;
    expect([oldBase, newBase.InstanceId]).not.toContain(base.InstanceId);
    expect((await state(dir)).steps[baseInstance.id]!.status).toBe('complete');
  });

  it('a base instance terminated while its step had failed is launched anew on resume, not replayed', async () => {
    const dir = await stateDir();
    expect((await installUntil(dir, baseInstance.needs)).failures).toEqual([]);
    // Close HTTP to the GitLab instances' group: the NLB's health checks fail, and so does the step.
    const { ec2, session } = await look(dir);
    const groups = securityGroups.outputs.parse((await state(dir)).steps['security-groups']!.outputs);
    const http = (
      await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [groups.groupIds.loadbalancer] }] })
    ).SecurityGroupRules!.filter((r) => !r.IsEgress && r.FromPort === 80);
    expect(http.length).toBeGreaterThan(0);
    await ec2.revokeSecurityGroupIngress({
      GroupId: groups.groupIds.loadbalancer,
      SecurityGroupRuleIds: http.map((r) => r.SecurityGroupRuleId!),
    });
    await session.close();
    const failed = await installUntil(dir, UNTIL_BASE);
    expect(failed.code).toBe(1);
    expect((await state(dir)).steps[baseInstance.id]!.status).toBe('failed');

    const look2 = await look(dir);
    const broken = (await instances(look2.ec2)).get('gitlab-gitlab-source')!.InstanceId!;
    await look2.ec2.terminateInstances({ InstanceIds: [broken] });
    await look2.ec2.authorizeSecurityGroupIngress({
      GroupId: groups.groupIds.loadbalancer,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      ],
    });
    await look2.session.close();

    const resumed = await installUntil(dir, UNTIL_BASE);
    expect(resumed.failures).toEqual([]);
    const look3 = await look(dir);
    const base = (await instances(look3.ec2)).get('gitlab-gitlab-source')!;
    expect(base.InstanceId).not.toBe(broken);
    expect(base.State?.Name).toBe('running');
  });

  it("a key pair of the deployment's name that is not ours stops the install with a clear error, and is left alone", async () => {
    const dir = await stateDir();
    const { ec2, session } = await look(dir);
    const theirs = await ec2.importKeyPair({ KeyName: 'gitlab-key', PublicKeyMaterial: Buffer.from(sandboxPublicKey('someone-else')) });
    await session.close();
    // Preflight meets it before anything is made (the step would stop on it too, if it came later).
    const run = await installUntil(dir, ['key-pair', 'machine-images']);
    expect(run.code, JSON.stringify(run.host.messages.slice(-2))).toBe(2);
    expect(run.host.messages.filter((m) => m.code === 'refused').map((m) => m.text)).toEqual([
      expect.stringMatching(
        /^error: key pair gitlab-key exists and does not belong to deployment 'gitlab' \(not tagged gitlab-aws:deployment=gitlab\) \(fix: delete or rename it, or choose another --deployment\)$/,
      ),
    ]);
    const after = await look(dir);
    expect((await after.ec2.describeKeyPairs({ KeyNames: ['gitlab-key'] })).KeyPairs?.map((k) => k.KeyPairId)).toEqual([theirs.KeyPairId]);
  });

  it('a real-AWS install without an SSH public key is refused before anything (exit 2, one line)', async () => {
    const dir = await stateDir();
    const run = await runCli(['install', '--yes', '--state-dir', dir, '--region', 'us-west-2', '--domain', 'gitlab.example.com']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    // --yes takes every default, and the key has none on real AWS: the one answer it cannot give is named.
    expect(run.stderr).toMatch(/^error: --yes cannot answer 'sshPublicKeyFile\.path' .*no SSH public key given: .*; pass --ssh-public-key ~\/\.ssh\/id_ed25519\.pub/);
  });
});
