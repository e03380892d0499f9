import { OBJECT_STORAGE_TYPES } from '../steps/names.js';
import type { GitalyNodeInput, RailsNodeInput } from './inputs.js';
import { rubyString as q } from './quote.js';
import { rubySecret } from './secrets.js';
import { versionFeatures } from './versions.js';

export const GITALY_PORT = 8075;
/** Amazon RDS's CA bundle for the region, fetched at boot (user-data.ts): what verify-full checks the database against. */
export const RDS_CA_BUNDLE = '/etc/gitlab/rds-ca-bundle.pem';
const REDIS_PORT = 6379;
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

const list = (items: string[]) => `[${items.map(q).join(', ')}]`;
const awsConnection = (region: string) => `{ 'provider' => 'AWS', 'region' => ${q(region)}, 'use_iam_profile' => true }`;

/**
 * /etc/gitlab/gitlab.rb of a Rails node (docs/compute-contract.md, gitlab-omnibus.md): TLS ends at
 * the load balancer, so nginx listens on plain 80; PostgreSQL, Redis and Gitaly are elsewhere;
 * object storage and backups go to S3 with the instance's role. Secrets only as files.
 */
export function renderRailsGitlabRb(input: RailsNodeInput): string {
  const { release } = input;
  const features = versionFeatures(release.version);
  // 19.3+ documents nginx under gitlab_rails (see versions.ts); older releases ignore that form.
  const nginx = (key: string) => (features.nginxUnderRails ? `gitlab_rails['nginx']['${key}']` : `nginx['${key}']`);
  const lines = [
    `# gitlab.rb of a GitLab Rails node (rails-${input.role}), GitLab ${release.edition.toUpperCase()} ${release.version}, written by gitlab-aws.`,
    `# Secrets are read from files fetched at boot from SSM Parameter Store; none is in this file.`,
    `external_url ${q(`https://${input.domain}`)}`,
    `letsencrypt['enable'] = false`,
    `gitlab_rails['initial_root_password'] = ${rubySecret('root-password')}`,
    // Exactly one node runs the migrations: the base instance; the clones never do.
    `gitlab_rails['auto_migrate'] = ${input.role === 'base'}`,
    '',
    '# TLS ends at the Network Load Balancer: plain HTTP on port 80 behind it.',
    `${nginx('listen_port')} = 80`,
    `${nginx('listen_https')} = false`,
    ...(input.proxyProtocol
      ? [
          '# Proxy protocol v2 is on for the HTTP target group: nginx must expect it, and trust the VPC for the client address.',
          `${nginx('proxy_protocol')} = true`,
          `${nginx('real_ip_trusted_addresses')} = ${list(['127.0.0.0/8', input.vpcCidr])}`,
        ]
      : []),
    '# The load balancer health checks /-/readiness from inside the VPC.',
    `gitlab_rails['monitoring_whitelist'] = ${list([...LOOPBACK, input.vpcCidr])}`,
    '',
    '# PostgreSQL: Amazon RDS',
    `postgresql['enable'] = false`,
    `gitlab_rails['db_adapter'] = 'postgresql'`,
    `gitlab_rails['db_encoding'] = 'unicode'`,
    `gitlab_rails['db_host'] = ${q(input.database.host)}`,
    `gitlab_rails['db_port'] = ${input.database.port}`,
    `gitlab_rails['db_database'] = ${q(input.database.name)}`,
    `gitlab_rails['db_username'] = ${q(input.database.username)}`,
    `gitlab_rails['db_password'] = ${rubySecret('database-password')}`,
    '# The connection is encrypted and the server verified: its certificate, for its name, from Amazon RDS.',
    `gitlab_rails['db_sslmode'] = 'verify-full'`,
    `gitlab_rails['db_sslrootcert'] = ${q(RDS_CA_BUNDLE)}`,
    '',
    '# Redis: ElastiCache, in-transit encryption and an AUTH token',
    `redis['enable'] = false`,
    `gitlab_rails['redis_host'] = ${q(input.redis.host)}`,
    `gitlab_rails['redis_port'] = ${input.redis.port || REDIS_PORT}`,
    `gitlab_rails['redis_ssl'] = true`,
    `gitlab_rails['redis_password'] = ${rubySecret('redis-auth-token')}`,
    '',
    '# Gitaly on its own instance; the token and the shell secret match its own.',
    `gitaly['enable'] = false`,
    `gitlab_rails['gitaly_token'] = ${rubySecret('gitaly-token')}`,
    `gitlab_shell['secret_token'] = ${rubySecret('gitlab-shell-secret')}`,
    `gitlab_rails['repositories_storages'] = { 'default' => { 'gitaly_address' => ${q(`tcp://${input.gitalyAddress}:${GITALY_PORT}`)} } }`,
    '',
    '# Object storage, consolidated form: one bucket per object type, the instance role for credentials.',
    `gitlab_rails['object_store']['enabled'] = true`,
    `gitlab_rails['object_store']['proxy_download'] = false`,
    `gitlab_rails['object_store']['connection'] = ${awsConnection(input.region)}`,
    ...OBJECT_STORAGE_TYPES.filter((type) => type !== 'agent_plan_content' || features.agentPlanContent).map(
      (type) => `gitlab_rails['object_store']['objects']['${type}']['bucket'] = ${q(input.buckets[type])}`,
    ),
    '',
    '# Backups',
    `gitlab_rails['backup_upload_connection'] = ${awsConnection(input.region)}`,
    `gitlab_rails['backup_upload_remote_directory'] = ${q(input.buckets.backups)}`,
    '',
    // Not a gitlab.rb key: with object storage and several Rails nodes GitLab needs incremental CI
    // job logging, which lives in the database. The base instance's user-data turns it on after
    // the reconfigure (user-data.ts).
    features.liveTraceSetting
      ? '# Incremental CI job logging: the application setting ci_job_live_trace_enabled, set after the reconfigure (gitlab-rails runner).'
      : '# Incremental CI job logging: the feature flag ci_enable_live_trace, enabled after the reconfigure (gitlab-rails runner).',
  ];
  return lines.join('\n') + '\n';
}

/** /etc/gitlab/gitlab.rb of the Gitaly node (doc/administration/gitaly/configure_gitaly.md). */
export function renderGitalyGitlabRb(input: GitalyNodeInput): string {
  const { release } = input;
  const features = versionFeatures(release.version);
  const lines = [
    `# gitlab.rb of the Gitaly node, GitLab ${release.edition.toUpperCase()} ${release.version}, written by gitlab-aws.`,
    `# Secrets are read from files fetched at boot from SSM Parameter Store; none is in this file.`,
    ...(features.gitalyRole
      ? [`roles(['gitaly_role'])`]
      : [
          'postgresql',
          'redis',
          'nginx',
          'puma',
          'sidekiq',
          'gitlab_workhorse',
          'gitlab_exporter',
          'gitlab_kas',
          'prometheus',
          'alertmanager',
        ].map((service) => `${service}['enable'] = false`)),
    `gitlab_rails['auto_migrate'] = false`,
    '# Gitaly calls back into GitLab through the load balancer.',
    `gitlab_rails['internal_api_url'] = ${q(`https://${input.domain}`)}`,
    `gitaly['gitlab_secret'] = ${rubySecret('gitlab-shell-secret')}`,
    `gitaly['configuration'] = {`,
    `  listen_addr: '0.0.0.0:${GITALY_PORT}',`,
    `  auth: { token: ${rubySecret('gitaly-token')} },`,
    `  storage: [{ name: 'default', path: '/var/opt/gitlab/git-data/repositories' }],`,
    `}`,
  ];
  return lines.join('\n') + '\n';
}
