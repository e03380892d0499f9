import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { encodeUserData } from '../src/gitlab/cloud-init.js';
import { renderGitalyUserData, renderRailsUserData } from '../src/gitlab/user-data.js';
import { BUCKET_TYPES, type BucketType } from '../src/steps/names.js';
import { SECRETS, type SecretName } from '../src/steps/secrets.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

const SECRET_NAMES = Object.keys(SECRETS) as SecretName[];
import {
  ACCOUNT,
  PATH,
  REGION,
  buildWorld,
  gitalyUserData,
  railsUserData,
  type DeploymentWorld,
  type RailsScript,
  type WorldOptions,
} from './sandbox-boot-world.js';

/**
 * The boot simulator through the SDK: instances launched with user-data written after
 * docs/compute-contract.md boot against the account they are in, and the HTTP target group's
 * health and the console output say what GitLab would. One test per check of the contract.
 */
const { stateDir, keep } = sandboxFixtures('gitlab-aws-boot-');

beforeEach(() => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
});
afterEach(() => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

async function world(options: WorldOptions = {}): Promise<DeploymentWorld> {
  const built = await buildWorld(await stateDir(), options);
  keep(built.aws);
  return built;
}

const launchSpec = (w: DeploymentWorld, imageId: string, groupId: string, userData: string): RunInstancesCommandInput => ({
  ImageId: imageId,
  InstanceType: 'c5.2xlarge',
  MinCount: 1,
  MaxCount: 1,
  SubnetId: w.privateSubnetA,
  SecurityGroupIds: [groupId],
  IamInstanceProfile: { Name: w.profile },
  MetadataOptions: { HttpTokens: 'required' },
  BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 100, VolumeType: 'gp3', Encrypted: true } }],
  UserData: encodeUserData(userData),
});

/** Gitaly launched and configured (6 minutes after it runs); its private IP. */
async function gitaly(w: DeploymentWorld, userData = gitalyUserData()): Promise<{ id: string; ip: string }> {
  const instance = (await w.ec2.runInstances(launchSpec(w, w.ubuntuImage, w.groups.gitaly, userData))).Instances![0]!;
  await w.aws.clock.sleep((AWS_MINUTES.ec2Instance.create + AWS_MINUTES.gitalyConfigure.create) * MINUTE);
  return { id: instance.InstanceId!, ip: instance.PrivateIpAddress! };
}

/** The base instance launched, running and registered in the HTTP target group; when it started running. */
async function railsBase(w: DeploymentWorld, script: Partial<RailsScript> & { gitalyIp: string; rendered?: string; image?: string }) {
  const userData = script.rendered ?? railsUserData({ dbHost: w.dbHost, redisHost: w.redisHost, vpcCidr: w.vpcCidr, ...script });
  const instance = (await w.ec2.runInstances(launchSpec(w, script.image ?? w.gitlabImage, w.groups.gitlab, userData))).Instances![0]!;
  const runningAt = instance.LaunchTime!.getTime() + AWS_MINUTES.ec2Instance.create * MINUTE;
  await w.aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
  const elb = await w.aws.elbv2();
  await elb.registerTargets({ TargetGroupArn: w.targetGroupArn, Targets: [{ Id: instance.InstanceId! }] });
  return { id: instance.InstanceId!, runningAt };
}

async function health(w: DeploymentWorld, id: string) {
  const elb = await w.aws.elbv2();
  const described = await elb.describeTargetHealth({ TargetGroupArn: w.targetGroupArn, Targets: [{ Id: id }] });
  return described.TargetHealthDescriptions![0]!.TargetHealth!;
}

async function consoleText(w: DeploymentWorld, id: string): Promise<string> {
  const output = (await w.ec2.getConsoleOutput({ InstanceId: id })).Output;
  return output ? Buffer.from(output, 'base64').toString('utf8') : '';
}

/** Boots a broken base instance well past its boot time: unhealthy, and the console says why. */
async function brokenBoot(w: DeploymentWorld, script: Partial<RailsScript> & { gitalyIp: string }) {
  const { id } = await railsBase(w, script);
  await w.aws.clock.sleep((AWS_MINUTES.gitlabBaseConfigure.create + 5) * MINUTE);
  return { health: await health(w, id), console: await consoleText(w, id) };
}

function release() {
  return { edition: 'ee' as const, version: '19.5.1' };
}

describe('the boot simulator', () => {
  it('brings a correctly wired base instance to healthy 9 minutes after it runs, and not a moment sooner', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { id, runningAt } = await railsBase(w, { gitalyIp: ip });
    expect((await health(w, id)).State).toBe('initial');

    const readyAt = runningAt + AWS_MINUTES.gitlabBaseConfigure.create * MINUTE;
    await w.aws.clock.sleep(readyAt - w.aws.clock.now() - 1_000);
    const booting = await health(w, id);
    expect(booting.State).toBe('unhealthy');
    expect(booting.Reason).toBe('Target.FailedHealthChecks');
    expect(await consoleText(w, id)).not.toContain('ready for imaging');

    await w.aws.clock.sleep(2_000);
    expect(await health(w, id)).toEqual({ State: 'healthy' });
    const text = await consoleText(w, id);
    expect(text).toContain('gitlab-aws: 5 secrets written to /etc/gitlab/gitlab-aws-secrets/');
    expect(text).toContain(`gitlab-aws: waiting for ${ip}:8075`);
    expect(text).toContain('gitlab-aws: ready for imaging');
  });

  it('stops a node whose script runs sshd -t before making /run/sshd, as a first boot of Ubuntu 24.04 does', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, sshdCheck: 'without-run-dir' });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain('Missing privilege separation directory: /run/sshd');
    expect(console).toContain('gitlab-aws: boot failed');
    const fixed = await brokenBoot(w, { gitalyIp: ip, sshdCheck: 'with-run-dir' });
    expect(fixed.health).toEqual({ State: 'healthy' });
  });

  it("takes a base a minute longer when no bootcmd removed the official image's first-boot script", async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { id, runningAt } = await railsBase(w, { gitalyIp: ip, keepFirstBootScript: true });
    await w.aws.clock.sleep(runningAt + (AWS_MINUTES.gitlabBaseConfigure.create + 0.5) * MINUTE - w.aws.clock.now());
    expect((await health(w, id)).State).toBe('unhealthy');
    expect(await consoleText(w, id)).toContain('/var/lib/cloud/scripts/per-instance/gitlab ran first');
    await w.aws.clock.sleep(MINUTE);
    expect(await health(w, id)).toEqual({ State: 'healthy' });
  });

  it('keeps a node with a wrong db_host unhealthy: PG::ConnectionBad could not translate host name', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const wrong = `demo-db.abcdefghijkl.${REGION}.rds.amazonaws.com`;
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, dbHost: wrong });
    expect(h).toEqual({
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [502]',
    });
    expect(console).toContain(`PG::ConnectionBad: could not translate host name "${wrong}" to address`);
  });

  it('keeps a node that talks to the cache without TLS unhealthy: Redis::CannotConnectError', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, redisSsl: false });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain('Redis::CannotConnectError: Connection lost (ECONNRESET)');
  });

  it('keeps a node whose AUTH token parameter does not exist unhealthy: ParameterNotFound', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const missing = `${PATH}/redis-auth-token-typo`;
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, fetch: { 'redis-auth-token': missing } });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain(`ParameterNotFound: Parameter ${missing} not found.`);
  });

  it('keeps a node without redis_password unhealthy: NOAUTH Authentication required', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, withoutRedisPassword: true });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain('Redis::CommandError: NOAUTH Authentication required.');
  });

  it('keeps a node pointed at a wrong Gitaly IP waiting, unhealthy', async () => {
    const w = await world();
    await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: '10.0.10.99' });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain('gitlab-aws: waiting for 10.0.10.99:8075');
    expect(console).not.toContain('gitlab Reconfigured!');
  });

  it('keeps a node whose Gitaly token parameter differs from the Gitaly node unhealthy: GRPC::PermissionDenied', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    // A parameter that exists, but not the one Gitaly reads.
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, fetch: { 'gitaly-token': `${PATH}/root-password` } });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain('GRPC::PermissionDenied: 7:permission denied');
  });

  it('answers the health checker 404 when the VPC CIDR is not in the monitoring allowlist', async () => {
    const w = await world();
    const { ip } = await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip, allowlist: ['127.0.0.0/8', '::1/128'] });
    expect(h).toEqual({
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [404]',
    });
    expect(console).toContain(`404 from the load balancer: ${w.vpcCidr} is not in gitlab_rails['monitoring_whitelist']`);
  });

  it('keeps a node unhealthy when the database group does not admit 5432 from the GitLab group', async () => {
    const w = await world({ withoutRule: 'rds-5432' });
    const { ip } = await gitaly(w);
    const { health: h, console } = await brokenBoot(w, { gitalyIp: ip });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain(`PG::ConnectionBad: connection to server at "${w.dbHost}", port 5432 failed: Connection timed out`);
  });

  it('times the health checks out when the GitLab group does not admit 80 from the load balancer', async () => {
    const w = await world({ withoutRule: 'gitlab-80' });
    const { ip } = await gitaly(w);
    const { health: h } = await brokenBoot(w, { gitalyIp: ip });
    expect(h).toEqual({ State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' });
  });

  it('keeps a node unhealthy when its role may not read a parameter it fetches: AccessDeniedException', async () => {
    const w = await world({ policyResource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PATH}/gitaly-*` });
    // Gitaly's own secrets are denied too; the Rails node reports the first it cannot read.
    const { health: h, console } = await brokenBoot(w, { gitalyIp: '10.0.10.10' });
    expect(h.State).toBe('unhealthy');
    expect(console).toContain(`AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-instance-role/`);
    expect(console).toContain(
      `is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PATH}/database-password`,
    );
  });

  it('answers 400 when the target group sends proxy protocol and gitlab.rb does not expect it, and is healthy when both agree', async () => {
    const w = await world({ proxyProtocol: true });
    const { ip } = await gitaly(w);
    const off = await brokenBoot(w, { gitalyIp: ip });
    expect(off.health.Description).toBe('Health checks failed with these codes: [400]');
    const on = await brokenBoot(w, { gitalyIp: ip, proxyProtocol: true });
    expect(on.health).toEqual({ State: 'healthy' });
  });

  it('fails a Gitaly node without a route to a NAT gateway: the package cannot be downloaded', async () => {
    const w = await world({ withoutNatRoute: true });
    const { id } = await gitaly(w);
    const text = await consoleText(w, id);
    expect(text).toContain('Could not connect to packages.gitlab.com:443');
    const { health: h } = await brokenBoot(w, {
      gitalyIp: (await w.ec2.describeInstances({ InstanceIds: [id] })).Reservations![0]!.Instances![0]!.PrivateIpAddress!,
    });
    expect(h.State).toBe('unhealthy');
  });

  it("brings the renderers' own Gitaly and base-instance user-data to healthy", async () => {
    const w = await world({ allSecrets: true });
    const parameters = Object.fromEntries(SECRET_NAMES.map((name) => [name, `${PATH}/${name}`])) as Record<SecretName, string>;
    const generated = { path: `${PATH}/generated`, tags: [] };
    const common = { release: release(), domain: 'gitlab.example.com', region: REGION, vpcCidr: w.vpcCidr, parameters, generated };
    const { ip } = await gitaly(w, renderGitalyUserData(common));
    const buckets = Object.fromEntries(BUCKET_TYPES.map((type) => [type, `demo-${type}`])) as Record<BucketType, string>;
    const userData = renderRailsUserData({
      ...common,
      role: 'base',
      database: { host: w.dbHost, port: 5432, name: 'gitlabhq_production', username: 'gitlab' },
      redis: { host: w.redisHost, port: 6379 },
      gitalyAddress: ip,
      buckets,
      proxyProtocol: false,
    });
    const { id, runningAt } = await railsBase(w, { gitalyIp: ip, rendered: userData });
    await w.aws.clock.sleep(runningAt + AWS_MINUTES.gitlabBaseConfigure.create * MINUTE - w.aws.clock.now());
    expect(await health(w, id)).toEqual({ State: 'healthy' });
    expect(await consoleText(w, id)).toContain('gitlab-aws: ready for imaging');
  });

  it('keeps a rendered node unhealthy when its role may not read the keys a reconfigure stored: AccessDeniedException', async () => {
    const w = await world({ allSecrets: true, policyResource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PATH}/*` });
    const parameters = Object.fromEntries(SECRET_NAMES.map((name) => [name, `${PATH}/${name}`])) as Record<SecretName, string>;
    const generated = { path: `${PATH}/generated`, tags: [] };
    const input = { release: release(), domain: 'gitlab.example.com', region: REGION, vpcCidr: w.vpcCidr, parameters, generated };
    const instance = (await w.ec2.runInstances(launchSpec(w, w.ubuntuImage, w.groups.gitaly, renderGitalyUserData(input)))).Instances![0]!;
    await w.aws.clock.sleep((AWS_MINUTES.ec2Instance.create + AWS_MINUTES.gitalyConfigure.create) * MINUTE);
    const text = await consoleText(w, instance.InstanceId!);
    expect(text).toContain(
      `is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PATH}/generated`,
    );
    expect(text).toContain('gitlab-aws: boot failed');
  });

  /** A base instance configured, baked, and a clone of it launched from the image; the clone and when it runs. */
  async function cloneOfBakedBase(w: DeploymentWorld, base: Partial<RailsScript> = {}) {
    const { ip } = await gitaly(w);
    const source = await railsBase(w, { gitalyIp: ip, ...base });
    await w.aws.clock.sleep(source.runningAt + AWS_MINUTES.gitlabBaseConfigure.create * MINUTE - w.aws.clock.now());
    const { ImageId } = await w.ec2.createImage({ InstanceId: source.id, Name: 'demo-gitlab-source-ee-19.5.1', NoReboot: true });
    await w.aws.clock.sleep(AWS_MINUTES.ami.create * MINUTE);
    return railsBase(w, { gitalyIp: ip, kind: 'rails-clone', image: ImageId!, keepFirstBootScript: base.keepFirstBootScript });
  }
  const cloneMinutes = AWS_MINUTES.autoScalingGroup.create - AWS_MINUTES.ec2Instance.create;

  it('boots a clone of the baked base image to healthy about 5.5 minutes after it runs', async () => {
    const w = await world();
    const clone = await cloneOfBakedBase(w);
    await w.aws.clock.sleep(clone.runningAt + cloneMinutes * MINUTE - w.aws.clock.now() - 1_000);
    expect((await health(w, clone.id)).State).toBe('unhealthy');
    await w.aws.clock.sleep(2_000);
    expect(await health(w, clone.id)).toEqual({ State: 'healthy' });
    expect(await consoleText(w, clone.id)).not.toContain('ready for imaging');
  });

  it('takes a clone longer when the baked image kept the AMI first-boot script: one more reconfigure', async () => {
    const w = await world();
    const clone = await cloneOfBakedBase(w, { keepFirstBootScript: true });
    await w.aws.clock.sleep(clone.runningAt + cloneMinutes * MINUTE - w.aws.clock.now() + 1_000);
    expect((await health(w, clone.id)).State).toBe('unhealthy');
    expect(await consoleText(w, clone.id)).toContain('/var/lib/cloud/scripts/per-instance/gitlab ran first');
    await w.aws.clock.sleep(3 * MINUTE);
    expect(await health(w, clone.id)).toEqual({ State: 'healthy' });
  });
});
