import type { IoHost } from '../ui/host.js';

/** The options every command takes (see cli.ts). */
export interface GlobalOptions {
  deployment: string;
  region?: string;
  profile?: string;
  stateDir: string;
  sandbox: boolean;
  config?: string;
  yes: boolean;
  json: boolean;
  verbose: boolean;
  color: boolean;
  /** install / plan answers given as flags. */
  sshCidr?: string;
  sshFromAnywhere?: boolean;
  bucketPrefix?: string;
  /** teardown: delete buckets that hold data too. */
  deleteData?: boolean;
}

/** What a command runs with: its options, the host it speaks and asks through, and the interrupt. */
export interface CommandContext {
  options: GlobalOptions;
  host: IoHost;
  signal: AbortSignal;
}

/** The command that continues this deployment, with only the options that differ from defaults. */
export function resumeCommand(options: GlobalOptions, verb = 'resume'): string {
  const parts = ['gitlab-aws', verb];
  if (options.deployment !== 'gitlab') parts.push('--deployment', options.deployment);
  if (options.stateDir !== './.gitlab-aws') parts.push('--state-dir', options.stateDir);
  if (options.profile) parts.push('--profile', options.profile);
  if (options.sandbox) parts.push('--sandbox');
  return parts.join(' ');
}
