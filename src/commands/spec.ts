import type { ExitCode } from '../errors.js';
import type { CommandContext } from './options.js';

/**
 * A command's argument spec, kept beside its handler (Vercel's habit): `command.ts` in the
 * command's folder is this, light enough for `--help`; `index.ts` is the handler, imported only
 * when the command runs.
 */
export interface CommandSpec<Own = Record<string, never>> {
  name: string;
  description: string;
  examples: string[];
  /** Positional arguments, in order (`render gitlab-rb`): the handler gets each as an own option by name, unchecked. */
  arguments?: Array<{ name: string; description: string }>;
  /** Options of this command only, as commander flags. */
  options?: Array<{ flags: string; description: string }>;
  /** Takes the install answers as flags (--ssh-cidr, --ssh-from-anywhere, --bucket-prefix). */
  answers?: boolean;
  handler(): Promise<(ctx: CommandContext, own: Own) => Promise<ExitCode>>;
}

/** Erases a spec's own-option type for the one list cli.ts registers. */
export function defineCommand<Own>(spec: CommandSpec<Own>): CommandSpec<Record<string, unknown>> {
  return spec as unknown as CommandSpec<Record<string, unknown>>;
}

export const ANSWER_OPTIONS = [
  { flags: '--ssh-cidr <cidr>', description: 'trusted range for SSH to the load balancer (Git) and the bastions, e.g. 203.0.113.0/24' },
  { flags: '--ssh-from-anywhere', description: 'open SSH to 0.0.0.0/0 and ::/0 (not recommended)' },
  {
    flags: '--db-instance-class <class>',
    description: 'RDS instance class of the database (default db.m5.large; db.t* only with database.allowBurstable)',
  },
  { flags: '--bucket-prefix <prefix>', description: 'S3 bucket names become <prefix>-<type> (default gl-<deployment>-<account>)' },
  { flags: '--cache-node-type <type>', description: 'ElastiCache node type (default cache.t3.medium)' },
  { flags: '--cache-engine <engine>', description: "ElastiCache engine: 'valkey' (Valkey 7.2, the default) or 'redis' (Redis OSS 7.1)" },
  { flags: '--cache-replicas <count>', description: 'ElastiCache replicas beside the primary, 1 to 5 (default 1)' },
  { flags: '--domain <name>', description: 'the name GitLab answers on, e.g. gitlab.example.com (the sandbox default)' },
  { flags: '--create-hosted-zone', description: 'create a public Route 53 zone for the domain when none in the account matches' },
  {
    flags: '--certificate-arn <arn>',
    description: 'use this ISSUED ACM certificate (same region, covering the domain) instead of requesting one',
  },
  {
    flags: '--ssh-public-key <file>',
    description: 'your SSH public key for the bastions and instances, e.g. ~/.ssh/id_ed25519.pub (the sandbox generates one)',
  },
  { flags: '--proxy-protocol', description: 'turn proxy protocol v2 on for the HTTP target group (GitLab must expect it)' },
];
