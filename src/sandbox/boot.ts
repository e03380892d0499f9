import { createHash } from 'node:crypto';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import type { OperationContext } from './core.js';
import { all, state, type Ec2Resource } from './ec2.js';
import { admits, covers, reachesInternetByNat, roleMay, roleOf } from './reach.js';
import { nginxSetting, parseUserData, SECRETS_DIR, Settings, type BakePrep, type BootScript } from './user-data-script.js';
import { rdsService } from './rds.js';
import { elasticacheService } from './elasticache.js';

/**
 * The boot simulator: what an instance does with its user-data (docs/compute-contract.md), read
 * from the text that reached EC2, and whether GitLab on it would answer its health check at the
 * time asked. It reads the rest of the account as the instance would meet it (the database, the
 * cache, Gitaly, SSM and the role, the security groups, the routes). Pure and deterministic: the
 * same world at the same time gives the same answer and the same console lines.
 */

/** Where a boot stands at the time asked. */
interface Outcome {
  /** When GitLab (or Gitaly, or sshd) is serving, if it will. */
  readyAt?: number;
  /** Why it never will, in the words the node prints, and what the health checker then gets. */
  failure?: { lines: string[]; httpCode?: number; elb?: { reason: string; description: string } };
  /** Still waiting for something that is not ready yet (the database still creating, Gitaly booting). */
  waitingFor?: string;
  /** What the node has printed so far. */
  lines: string[];
}

/** The answer elbv2 and Auto Scaling ask for. */
export interface Readiness {
  ready: boolean;
  /** What GET /-/readiness gets from the health checker, when anything answers. */
  httpCode?: number;
  /** ELB's reason code and description when not ready and something is known to be wrong. */
  elb?: { reason: string; description: string };
  reasons: string[];
}

export function instanceReadiness(ctx: OperationContext, instanceId: string): Readiness {
  const instance = ctx.world.ec2[instanceId];
  if (!instance || instance.kind !== 'instance') return { ready: false, reasons: [`no instance ${instanceId}`] };
  const outcome = boot(ctx, instance);
  if (outcome.readyAt !== undefined && ctx.now >= outcome.readyAt && !outcome.failure) {
    return { ready: true, httpCode: 200, reasons: [] };
  }
  if (outcome.failure) {
    return {
      ready: false,
      ...(outcome.failure.httpCode !== undefined ? { httpCode: outcome.failure.httpCode } : {}),
      ...(outcome.failure.elb ? { elb: outcome.failure.elb } : {}),
      reasons: outcome.failure.lines,
    };
  }
  return { ready: false, reasons: [outcome.waitingFor ?? 'still booting'] };
}

/** What GetConsoleOutput shows: the boot's lines so far. */
export function consoleLines(ctx: OperationContext, instance: Ec2Resource): string[] {
  return boot(ctx, instance).lines;
}

const codes = (code: number) => ({
  httpCode: code,
  elb: { reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${code}]` },
});
const TIMEOUT = { elb: { reason: 'Target.Timeout', description: 'Request timed out' } };

function boot(ctx: OperationContext, instance: Ec2Resource): Outcome {
  const current = state(instance, ctx.now);
  if (current === 'pending') return { lines: [] };
  if (current !== 'running') return { lines: [], failure: { lines: [`instance is ${current}`] } };
  const running = instance.readyAt;
  const script = parseUserData(instance.attrs.userData as string | undefined);
  const header = [
    `[    0.000000] Linux version 6.8.0-1016-aws (buildd@lcy02-amd64-017) #17-Ubuntu SMP`,
    `[   12.401221] cloud-init[672]: Cloud-init v. 24.3.1 running 'modules:final' at ${new Date(running).toUTCString()}.`,
  ];
  if (!script.kind) {
    return { readyAt: running, lines: [...header, `[   13.000000] cloud-init[672]: Cloud-init v. 24.3.1 finished.`] };
  }
  const log = new BootLog(header, running);
  log.say(`gitlab-aws: ${script.kind} node booting`);
  if (script.kind === 'bastion') return { readyAt: running, lines: log.say('gitlab-aws: bastion ready').lines };
  const secrets = fetchSecrets(ctx, instance, script, log);
  if (secrets.failure) return secrets.failure;
  const denied = generatedSecretsDenied(ctx, instance, script, log);
  if (denied) return denied;
  if (script.kind === 'gitaly') return gitalyBoot(ctx, instance, script, secrets.values, log);
  return railsBoot(ctx, instance, script, secrets.values, log);
}

/** The node's lines as they would reach the console. */
class BootLog {
  lines: string[];
  private t = 13;
  constructor(
    header: string[],
    readonly running: number,
  ) {
    this.lines = [...header];
  }
  say(...text: string[]): this {
    for (const line of text) {
      this.t += 0.5;
      this.lines.push(`[${this.t.toFixed(6).padStart(12)}] cloud-init[1203]: ${line}`);
    }
    return this;
  }
  fail(lines: string[], extra: Partial<NonNullable<Outcome['failure']>> = {}): Outcome {
    this.say(...lines, 'gitlab-aws: boot failed');
    return { lines: this.lines, failure: { lines, ...extra } };
  }
}

/** Every fetch_secret line: the parameter must exist and the instance's role may read it. */
function fetchSecrets(
  ctx: OperationContext,
  instance: Ec2Resource,
  script: BootScript,
  log: BootLog,
): { values: Record<string, string>; failure?: Outcome } {
  const values: Record<string, string> = {};
  const role = roleOf(ctx, instance);
  for (const { parameter, file } of script.fetched) {
    if (!role) {
      return {
        values,
        failure: log.fail(
          [`gitlab-aws: cannot read ${parameter}: the instance has no IAM role (no instance profile); IMDS gives no credentials`],
          codes(502),
        ),
      };
    }
    const arn = `arn:aws:ssm:${ctx.region}:${ctx.world.accountId}:parameter${parameter.startsWith('/') ? '' : '/'}${parameter}`;
    // The script reads them all with GetParameters, which IAM authorizes parameter by parameter.
    if (!roleMay(role.policies, 'ssm:GetParameters', arn)) {
      return {
        values,
        failure: log.fail(
          [
            `gitlab-aws: AccessDeniedException: User: arn:aws:sts::${ctx.world.accountId}:assumed-role/${role.name}/${instance.id} is not authorized to perform: ssm:GetParameters on resource: ${arn} because no identity-based policy allows the ssm:GetParameters action`,
          ],
          codes(502),
        ),
      };
    }
    const found = ctx.world.ssm.parameters[`${ctx.region}:${parameter}`];
    if (!found) {
      return { values, failure: log.fail([`gitlab-aws: ParameterNotFound: Parameter ${parameter} not found.`], codes(502)) };
    }
    values[file] = found.value;
  }
  if (script.fetched.length) log.say(`gitlab-aws: ${script.fetched.length} secrets written to ${SECRETS_DIR}`);
  return { values };
}

function secretsReadable(s: Settings, values: Record<string, string>, log: BootLog): Outcome | undefined {
  const missing = s.secretFiles().find((file) => !(file in values));
  if (missing === undefined) return undefined;
  return log.fail(
    [
      'There was an error running gitlab-ctl reconfigure:',
      `Errno::ENOENT: No such file or directory @ rb_sysopen - ${SECRETS_DIR}${missing}`,
    ],
    codes(502),
  );
}

function gitalyBoot(
  ctx: OperationContext,
  instance: Ec2Resource,
  script: BootScript,
  values: Record<string, string>,
  log: BootLog,
): Outcome {
  const s = new Settings(script.gitlabRb ?? '');
  if (script.installsPackage) {
    log.say(`gitlab-aws: installing ${script.installsPackage} from packages.gitlab.com`);
    if (!reachesInternetByNat(ctx, instance)) {
      return log.fail([
        `E: Failed to fetch https://packages.gitlab.com/gitlab/gitlab-ee/ubuntu/noble/dists/noble/InRelease  Could not connect to packages.gitlab.com:443, connection timed out`,
        `E: Unable to locate package ${script.installsPackage.split('=')[0]}`,
      ]);
    }
  }
  const unreadable = secretsReadable(s, values, log);
  if (unreadable) return unreadable;
  const readyAt = instance.readyAt + AWS_MINUTES.gitalyConfigure.create * MINUTE;
  if (ctx.now < readyAt)
    return {
      lines: log.say('gitlab-aws: gitlab-ctl reconfigure (Gitaly only)').lines,
      readyAt,
      waitingFor: 'Gitaly is being installed and configured',
    };
  log.say('gitlab-ctl reconfigure: gitlab Reconfigured!', 'gitlab-aws: Gitaly listening on 0.0.0.0:8075');
  return { lines: log.lines, readyAt };
}

/** A dependency's address as its service answers for it. */
function database(ctx: OperationContext, host: string | undefined) {
  const list = rdsService.operations.DescribeDBInstances!(ctx, {}).DBInstances ?? [];
  return list.find((d) => d.Endpoint?.Address === host);
}

function cache(ctx: OperationContext, host: string | undefined) {
  const list = elasticacheService.operations.DescribeReplicationGroups!(ctx, {}).ReplicationGroups ?? [];
  const group = list.find((g) => g.NodeGroups?.[0]?.PrimaryEndpoint?.Address === host);
  const record = group ? ctx.world.elasticache.replicationGroups[`${ctx.region}:${group.ReplicationGroupId!.toLowerCase()}`] : undefined;
  return group && record ? { view: group, record } : undefined;
}

function railsBoot(
  ctx: OperationContext,
  instance: Ec2Resource,
  script: BootScript,
  values: Record<string, string>,
  log: BootLog,
): Outcome {
  if (script.gitlabRb === undefined) return log.fail(['gitlab-aws: no /etc/gitlab/gitlab.rb written (no GITLAB_RB heredoc)'], codes(502));
  const s = new Settings(script.gitlabRb);
  const version = (instance.attrs.gitlab as { version?: string } | undefined)?.version;
  const groups = (instance.attrs.securityGroupIds ?? []) as string[];
  const ip = instance.attrs.privateIp as string;
  const vpcCidr = ctx.world.ec2[instance.attrs.vpcId]?.attrs.cidrBlock as string;
  const unreadable = secretsReadable(s, values, log);
  if (unreadable) return unreadable;
  // Seen in the boot rehearsal: on a first boot of Ubuntu 24.04 sshd is socket-activated and
  // /run/sshd does not exist until someone connects, so `sshd -t` stops a script that did not make it.
  if (script.sshdCheckWithoutRunDir) return log.fail(['Missing privilege separation directory: /run/sshd'], codes(502));
  const since: number[] = [instance.readyAt];
  const waitingFor: string[] = [];

  // Gitaly first: the script waits for its port before the reconfigure.
  const gitalyAddress = s.match(/'gitaly_address'\s*=>\s*'([^']*)'/);
  const gitalyIp = /^tcp:\/\/([\d.]+):8075$/.exec(gitalyAddress ?? '')?.[1];
  // Private addresses repeat across VPCs (two deployments of the guide's CIDRs): only this VPC's count.
  const inVpc = all(ctx, 'instance').filter((i) => i.attrs.vpcId === instance.attrs.vpcId);
  const gitalyNode = inVpc.find((i) => i.attrs.privateIp === gitalyIp && state(i, ctx.now) === 'running');
  for (const wait of script.waitsFor) {
    const node = inVpc.find((i) => i.attrs.privateIp === wait.host && i.goneAt === undefined);
    log.say(`gitlab-aws: waiting for ${wait.host}:${wait.port}`);
    if (node && state(node, ctx.now) === 'pending') return { lines: log.lines, waitingFor: `waiting for ${wait.host}:${wait.port}` };
    const nodeBoot = node ? boot(ctx, node) : undefined;
    const reachable = node && admits(ctx, node.attrs.securityGroupIds, wait.port, groups, [ip]);
    if (!node || !reachable || nodeBoot?.failure) {
      return {
        lines: log.lines,
        failure: { lines: [`gitlab-aws: still waiting for ${wait.host}:${wait.port}: nothing answers there`], ...codes(502) },
      };
    }
    if (nodeBoot?.readyAt === undefined || ctx.now < nodeBoot.readyAt) {
      return { lines: log.lines, waitingFor: `waiting for Gitaly at ${wait.host}:${wait.port}` };
    }
    since.push(nodeBoot.readyAt);
  }

  // The database: this account's, available, reachable.
  const dbHost = s.text("gitlab_rails['db_host']");
  const db = database(ctx, dbHost);
  if (!db) {
    return log.fail(
      reconfigureError(`PG::ConnectionBad: could not translate host name "${dbHost}" to address: Name or service not known`),
      codes(502),
    );
  }
  if (
    !admits(
      ctx,
      (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!),
      5432,
      groups,
      [ip],
    )
  ) {
    return log.fail(
      reconfigureError(
        `PG::ConnectionBad: connection to server at "${dbHost}", port 5432 failed: Connection timed out. Is the server running on that host and accepting TCP/IP connections?`,
      ),
      codes(502),
    );
  }
  const dbRecord = Object.values(ctx.world.rds.instances).find((i) => i.region === ctx.region && i.id === db.DBInstanceIdentifier);
  if (db.DBInstanceStatus !== 'available') waitingFor.push(`the database ${db.DBInstanceIdentifier} (${db.DBInstanceStatus})`);
  else if (dbRecord) since.push(dbRecord.availableAt);

  // The cache: the primary endpoint, TLS, AUTH.
  const redisHost = s.text("gitlab_rails['redis_host']");
  const redis = cache(ctx, redisHost);
  if (!redis)
    return log.fail(
      reconfigureError(`Redis::CannotConnectError: Error connecting to Redis on ${redisHost}:6379 (SocketError)`),
      codes(502),
    );
  if (!redis.record.transitEncryption || s.flag("gitlab_rails['redis_ssl']") !== true) {
    return log.fail(
      reconfigureError(
        redis.record.transitEncryption
          ? `Redis::CannotConnectError: Connection lost (ECONNRESET): the cache takes TLS only (gitlab_rails['redis_ssl'] is not true)`
          : `Redis::CannotConnectError: SSL_connect returned=1 errno=0 state=error: wrong version number (the cache has no in-transit encryption)`,
      ),
      codes(502),
    );
  }
  if (!admits(ctx, redis.record.securityGroupIds, 6379, groups, [ip])) {
    return log.fail(reconfigureError(`Redis::CannotConnectError: Timed out connecting to Redis on ${redisHost}:6379`), codes(502));
  }
  const passwordFile = s.secretFile("gitlab_rails['redis_password']");
  if (redis.record.authTokenEnabled) {
    if (passwordFile === undefined) return log.fail(reconfigureError('Redis::CommandError: NOAUTH Authentication required.'), codes(502));
    const digest = createHash('sha256')
      .update(values[passwordFile] ?? '')
      .digest('hex');
    if (redis.record.authTokenDigest !== undefined && digest !== redis.record.authTokenDigest) {
      return log.fail(reconfigureError('Redis::CommandError: WRONGPASS invalid username-password pair or user is disabled.'), codes(502));
    }
  }
  if (redis.view.Status !== 'available') waitingFor.push(`the cache ${redis.view.ReplicationGroupId} (${redis.view.Status})`);
  else since.push(redis.record.readyAt);

  // Gitaly: the address, the port, the shared token and secret.
  if (!gitalyNode || parseUserData(gitalyNode.attrs.userData).kind !== 'gitaly') {
    return log.fail(
      reconfigureError(
        `GRPC::Unavailable: 14:failed to connect to all addresses; last error: UNKNOWN: ${gitalyAddress}: Failed to connect to remote host: Connection refused`,
      ),
      codes(503),
    );
  }
  if (!admits(ctx, gitalyNode.attrs.securityGroupIds, 8075, groups, [ip])) {
    return log.fail(
      reconfigureError(
        `GRPC::DeadlineExceeded: 4:Deadline Exceeded (${gitalyAddress}: the Gitaly node's security group does not admit 8075)`,
      ),
      codes(503),
    );
  }
  const gitalyScript = parseUserData(gitalyNode.attrs.userData);
  const gitalyFetched = Object.fromEntries(gitalyScript.fetched.map((f) => [f.file, f.parameter]));
  const railsFetched = Object.fromEntries(script.fetched.map((f) => [f.file, f.parameter]));
  const gitalySettings = new Settings(gitalyScript.gitlabRb ?? '');
  const serverTokenFile =
    gitalySettings.match(/token:\s*File\.read\('\/etc\/gitlab\/gitlab-aws-secrets\/([^']+)'\)/) ??
    gitalySettings.match(/'token'\s*=>\s*File\.read\('\/etc\/gitlab\/gitlab-aws-secrets\/([^']+)'\)/);
  const clientTokenFile = s.secretFile("gitlab_rails['gitaly_token']");
  const serverToken = serverTokenFile ? gitalyFetched[serverTokenFile] : undefined;
  const clientToken = clientTokenFile ? railsFetched[clientTokenFile] : undefined;
  if (!serverToken || serverToken !== clientToken) {
    return log.fail(
      reconfigureError(
        `GRPC::PermissionDenied: 7:permission denied (Gitaly's auth token is ${serverToken ?? 'unset'}, this node sends ${clientToken ?? 'none'})`,
      ),
      codes(503),
    );
  }
  if (gitalyFetched['gitlab-shell-secret'] !== railsFetched['gitlab-shell-secret']) {
    return log.fail(
      reconfigureError('GRPC::Unauthenticated: 16:Gitaly and GitLab Shell specifies different secrets (gitlab-secrets.json differs)'),
      codes(503),
    );
  }
  const gitalyBootNow = boot(ctx, gitalyNode);
  if (gitalyBootNow.failure)
    return log.fail(reconfigureError(`GRPC::Unavailable: 14:failed to connect to all addresses (${gitalyAddress})`), codes(503));
  if (gitalyBootNow.readyAt === undefined || ctx.now < gitalyBootNow.readyAt) waitingFor.push(`Gitaly at ${gitalyAddress}`);
  else since.push(gitalyBootNow.readyAt);

  if (waitingFor.length)
    return {
      lines: log.say(`gitlab-aws: gitlab-ctl reconfigure waits for ${waitingFor.join(', ')}`).lines,
      waitingFor: waitingFor.join(', '),
    };

  const base = script.kind === 'rails-base';
  const minutes = base ? AWS_MINUTES.gitlabBaseConfigure.create : AWS_MINUTES.autoScalingGroup.create - AWS_MINUTES.ec2Instance.create;
  // The AMI's first-boot script runs before user-data unless a bootcmd removed it: on the official
  // image it reconfigures with the image's gitlab.rb and fails, costing about a minute
  // (gitlab-omnibus.md); a baked image that kept it reconfigures once more on every launch.
  const baked = instance.attrs.baked as { prep?: BakePrep } | undefined;
  const present = baked ? baked.prep !== undefined && !baked.prep.firstBootScriptRemoved : true;
  const firstBootRuns = present && !script.firstBootScriptPrevented;
  const extra = firstBootRuns ? (baked ? 2 : 1) : 0;
  if (extra) log.say('gitlab-aws: /var/lib/cloud/scripts/per-instance/gitlab ran first: one more gitlab-ctl reconfigure');
  const readyAt = Math.max(...since) + (minutes + extra) * MINUTE;
  log.say('gitlab-aws: gitlab-ctl reconfigure');
  if (ctx.now < readyAt) return { lines: log.lines, readyAt, waitingFor: 'gitlab-ctl reconfigure is running' };
  log.say('gitlab Reconfigured!');
  if (base && script.prep.readyForImaging) log.say('gitlab-aws: ready for imaging');

  // What the health checker meets: the allowlist, port 80, proxy protocol.
  const allowlist = s.list("gitlab_rails['monitoring_whitelist']") ?? ['127.0.0.0/8', '::1/128'];
  if (!covers(allowlist, vpcCidr)) {
    log.say(
      `nginx: "GET /-/readiness HTTP/1.1" 404 from the load balancer: ${vpcCidr} is not in gitlab_rails['monitoring_whitelist'] (${allowlist.join(', ')})`,
    );
    return {
      lines: log.lines,
      failure: {
        lines: [`GET /-/readiness answers 404: the VPC CIDR ${vpcCidr} is not in gitlab_rails['monitoring_whitelist']`],
        ...codes(404),
      },
    };
  }
  const path = healthPath(ctx, instance, s, version);
  if (path) {
    log.say(...path.lines);
    return { lines: log.lines, failure: path };
  }
  return { lines: log.lines, readyAt };
}

/** The keys a reconfigure generated: read below their path on every node, stored by the base; the role must allow both. */
function generatedSecretsDenied(ctx: OperationContext, instance: Ec2Resource, script: BootScript, log: BootLog): Outcome | undefined {
  const role = roleOf(ctx, instance);
  const path = script.readsGenerated;
  if (!role || !path) return undefined;
  const arn = (name: string) => `arn:aws:ssm:${ctx.region}:${ctx.world.accountId}:parameter${name}`;
  const needs: Array<[string, string]> = [['ssm:GetParametersByPath', arn(path)]];
  if (script.storesGenerated) needs.push(['ssm:PutParameter', arn(`${path}/gitlab_workhorse/secret_token`)]);
  const missing = needs.find(([action, resource]) => !roleMay(role.policies, action, resource));
  if (!missing) return undefined;
  return log.fail(
    [
      `gitlab-aws: AccessDeniedException: User: arn:aws:sts::${ctx.world.accountId}:assumed-role/${role.name}/${instance.id} is not authorized to perform: ${missing[0]} on resource: ${missing[1]} because no identity-based policy allows the ${missing[0]} action`,
    ],
    codes(502),
  );
}

function reconfigureError(line: string): string[] {
  return ['There was an error running gitlab-ctl reconfigure:', line];
}

/** The load balancers' side: every target group the instance is in reaches port 80, proxy protocol agrees. */
function healthPath(
  ctx: OperationContext,
  instance: Ec2Resource,
  s: Settings,
  version: string | undefined,
): NonNullable<Outcome['failure']> | undefined {
  const proxy = nginxSetting(s, version, 'proxy_protocol') === true;
  for (const tg of Object.values(ctx.world.elbv2.targetGroups)) {
    const target = tg.targets?.[instance.id];
    if (tg.region !== ctx.region || !target || target.deregisteredAt !== undefined) continue;
    const port = Number(tg.healthCheck.port === 'traffic-port' ? target.port : tg.healthCheck.port);
    if (port !== 80) continue;
    const lbs = Object.values(ctx.world.elbv2.listeners)
      .filter((l) => l.targetGroupArn === tg.arn)
      .map((l) => ctx.world.elbv2.loadBalancers[l.loadBalancerArn])
      .filter((lb) => lb !== undefined);
    const lbGroups = lbs.flatMap((lb) => lb.securityGroups);
    const lbIps = all(ctx, 'network-interface')
      .filter((e) => lbs.some((lb) => lb.arn === e.attrs.ownerId))
      .map((e) => e.attrs.privateIp as string);
    if (!admits(ctx, instance.attrs.securityGroupIds, 80, lbGroups, lbIps)) {
      return {
        lines: [`health checks to port 80 time out: the instance's security groups do not admit 80 from the load balancer's`],
        ...TIMEOUT,
      };
    }
    const sent = tg.attributes['proxy_protocol_v2.enabled'] === 'true';
    if (sent && !proxy) {
      return {
        lines: [`nginx: 400 Bad Request: the target group sends proxy protocol v2 and nginx['proxy_protocol'] is not on`],
        ...codes(400),
      };
    }
    if (!sent && proxy) {
      return {
        lines: [`nginx: broken header while reading PROXY protocol: nginx expects proxy protocol and the target group does not send it`],
        ...TIMEOUT,
      };
    }
  }
  return undefined;
}
