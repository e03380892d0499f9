import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readState } from '../src/state/store.js';
import { TAG_DEPLOYMENT, TAG_STEP } from '../src/aws/tags.js';
import { inInventory, readWorld, runCli, sandboxInventory, statusJson, tempDir } from './helpers.js';
import { heldAndPlanned, planFor, stepKnown } from './plan-helpers.js';

/** The README's quick start, as an operator runs it: install, status, teardown, discover. */
describe('sandbox install end to end', () => {
  it('builds every step, exactly the resources the plan listed, and tears down to nothing', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir);
    const install = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
    expect(install.code, install.stderr).toBe(0);
    for (const title of [
      'IAM policy, role and instance profile',
      'VPC',
      'Subnets',
      'Internet gateway',
      'NAT gateways',
      'Public route table',
      'Private route tables',
      'Security groups',
      'S3 buckets',
      'Secrets in SSM Parameter Store',
      'PostgreSQL with RDS',
    ]) {
      expect(install.stdout).toMatch(new RegExp(`✔ ${title}: done \\((\\d+m)?\\d+s simulated\\)`));
    }

    const status = statusJson((await runCli(['status', '--sandbox', '--json', '--state-dir', dir])).stdout);
    expect(status.steps.map((s) => [s.id, s.status])).toEqual(
      [
        'iam-role',
        'vpc',
        'subnets',
        'internet-gateway',
        'nat-gateways',
        'public-route-table',
        'private-route-tables',
        'security-groups',
        's3-buckets',
        'secrets',
        'hosted-zone',
        'tls-certificate',
        'load-balancer',
        'dns-record',
        'rds-postgres',
        'elasticache',
        'machine-images',
        'key-pair',
        'bastion-hosts',
        'gitaly',
        'base-instance',
        'gitlab-ami',
        'launch-template',
        'auto-scaling-group',
        'scaling-policies',
        'retire-base-instance',
      ].map((id) => [id, 'complete']),
    );
    const { held: inAccount, planned } = await heldAndPlanned(dir, plan);
    expect(inAccount).toEqual(planned);
    const tagged = inInventory;
    // Everything planned is held, but the base instance: the install retired it once the group was healthy.
    expect(planned).toHaveLength(plan.filter(tagged).length - 1);
    expect(plan.filter((r) => r.step === 'base-instance').map((r) => r.name)).toEqual(['gitlab-gitlab-source']);
    const held = await sandboxInventory(dir);
    const recorded = status.resources.filter(tagged);
    expect(recorded.map((r) => `${r.type} ${r.id}`).sort()).toEqual(held.map((r) => `${r.type} ${r.id}`).sort());
    // A scaling policy takes no tags: the inventory knows it by its group, not by the step that made it.
    expect(recorded.filter((r) => stepKnown(r.type)).every((r) => held.find((h) => h.id === r.id)?.step === r.step)).toBe(true);
    expect(status.resources.filter((r) => !tagged(r)).map((r) => r.id.split('/').slice(1).join(' '))).toEqual([
      expect.stringMatching(/^_\w+\.gitlab\.example\.com\. CNAME$/),
      'gitlab.example.com. A',
    ]);

    const teardown = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
    expect(teardown.code, teardown.stderr).toBe(0);
    const discovered = statusJson((await runCli(['status', '--sandbox', '--discover', '--json', '--state-dir', dir])).stdout);
    expect(discovered.resources).toEqual([]);
    expect(await sandboxInventory(dir)).toEqual([]);
  });

  it('builds the network and the role exactly as the guide says', async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const world = (await readWorld(dir))!;

    const vpcs = Object.values(world.ec2).filter((r) => r.kind === 'vpc');
    expect(vpcs).toHaveLength(1);
    const vpc = vpcs[0]!;
    expect(vpc.attrs).toMatchObject({ cidrBlock: '10.0.0.0/16', enableDnsSupport: true, enableDnsHostnames: true });
    expect(vpc.tags).toMatchObject({ Name: 'gitlab-vpc', [TAG_DEPLOYMENT]: 'gitlab', [TAG_STEP]: 'vpc' });

    const subnets = Object.values(world.ec2)
      .filter((r) => r.kind === 'subnet')
      .map((s) => [s.tags.Name, s.attrs.cidrBlock, s.attrs.availabilityZone, s.attrs.mapPublicIpOnLaunch, s.attrs.vpcId === vpc.id])
      .sort();
    expect(subnets).toEqual([
      ['gitlab-private-10.0.1.0', '10.0.1.0/24', 'us-west-2a', false, true],
      ['gitlab-private-10.0.3.0', '10.0.3.0/24', 'us-west-2b', false, true],
      ['gitlab-public-10.0.0.0', '10.0.0.0/24', 'us-west-2a', true, true],
      ['gitlab-public-10.0.2.0', '10.0.2.0/24', 'us-west-2b', true, true],
    ]);

    const policy = world.iam.policies['gitlab-gl-s3-policy']!;
    const document = JSON.parse(policy.versions[policy.defaultVersion]!.document);
    expect(document.Statement[0].Action).toEqual(['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectAcl']);
    expect(document.Statement[1].Action).toEqual([
      's3:ListBucket',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      's3:ListBucketMultipartUploads',
    ]);
    // Least privilege: this deployment's buckets by name, no wildcard over other buckets.
    expect(document.Statement[1].Resource).toContain(`arn:aws:s3:::gl-gitlab-${world.accountId}-artifacts`);
    expect(JSON.stringify(document)).not.toContain('gl-*');
    const role = world.iam.roles['gitlab-GitLabS3Access']!;
    expect(JSON.parse(role.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
    expect(role.attachedPolicies).toEqual([policy.arn]);
    expect(world.iam.instanceProfiles['gitlab-GitLabS3Access']!.roles).toEqual(['gitlab-GitLabS3Access']);

    const state = (await readState(join(dir, 'gitlab.json')))!;
    expect(state.steps.subnets!.outputs).toMatchObject({ availabilityZones: ['us-west-2a', 'us-west-2b'] });
  });

  it('honours a config file: other CIDRs and AZs, a second deployment beside the first, each as planned', async () => {
    const dir = await tempDir();
    const config = join(dir, 'answers.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      config,
      JSON.stringify({
        region: 'eu-west-1',
        availabilityZones: ['eu-west-1b', 'eu-west-1c'],
        vpcCidr: '10.20.0.0/16',
        subnetCidrs: { publicA: '10.20.0.0/24', privateA: '10.20.1.0/24', publicB: '10.20.2.0/24', privateB: '10.20.3.0/24' },
      }),
    );
    const stagingAnswers = [
      '--deployment',
      'staging',
      '--config',
      config,
      '--bucket-prefix',
      'acme-staging',
      '--ssh-cidr',
      '203.0.113.0/24',
      // A second deployment answers on a name of its own: one domain has one alias record.
      '--domain',
      'staging.example.com',
    ];
    const defaultPlan = await planFor(dir);
    const stagingPlan = await planFor(dir, stagingAnswers);
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const second = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir, ...stagingAnswers]);
    expect(second.code, second.stderr).toBe(0);
    const world = (await readWorld(dir))!;
    const staging = Object.values(world.ec2).filter(
      (r) => r.tags[TAG_DEPLOYMENT] === 'staging' && (r.kind === 'vpc' || r.kind === 'subnet'),
    );
    expect(staging.map((r) => [r.region, r.attrs.cidrBlock, r.attrs.availabilityZone]).sort()).toEqual([
      ['eu-west-1', '10.20.0.0/16', undefined],
      ['eu-west-1', '10.20.0.0/24', 'eu-west-1b'],
      ['eu-west-1', '10.20.1.0/24', 'eu-west-1b'],
      ['eu-west-1', '10.20.2.0/24', 'eu-west-1c'],
      ['eu-west-1', '10.20.3.0/24', 'eu-west-1c'],
    ]);
    expect(world.iam.roles['staging-GitLabS3Access']).toBeDefined();
    const asPlanned = await heldAndPlanned(dir, stagingPlan, 'staging');
    expect(asPlanned.held).toEqual(asPlanned.planned);
    expect(asPlanned.planned).toEqual(
      expect.arrayContaining([
        'subnets AWS::EC2::Subnet staging-public-10.20.0.0',
        'subnets AWS::EC2::Subnet staging-private-10.20.3.0',
        's3-buckets AWS::S3::Bucket acme-staging-artifacts',
        'vpc AWS::EC2::VPC staging-vpc',
      ]),
    );
    // Tearing one deployment down leaves the other untouched.
    expect((await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir, '--deployment', 'staging'])).code).toBe(0);
    expect(await sandboxInventory(dir, 'staging')).toEqual([]);
    const gitlab = await heldAndPlanned(dir, defaultPlan, 'gitlab');
    expect(gitlab.held).toEqual(gitlab.planned);
  });

  it('a resume after success verifies each step and changes nothing', async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const before = (await readWorld(dir))!.mutations;
    const again = await runCli(['resume', '--sandbox', '--yes', '--state-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('VPC: already done');
    expect((await readWorld(dir))!.mutations).toBe(before);
  });

  it('survives throttling and server errors on a third of the calls', async () => {
    const dir = await tempDir();
    const faults = JSON.stringify({ seed: 42, throttleRate: 0.25, serverErrorRate: 0.1 });
    const run = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir], { GITLAB_AWS_SANDBOX_FAULTS: faults });
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, await planFor(dir));
    expect(held).toEqual(planned);
  });
});
