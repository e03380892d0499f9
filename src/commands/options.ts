import type { IoHost } from '../ui/host.js';

/** The options every command takes (see cli.ts). */
export interface GlobalOptions {
  deployment: string;
  /** Whether --deployment was typed (not its default): then it wins and the wizard does not ask it. */
  deploymentGiven?: boolean;
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
  dbInstanceClass?: string;
  dbEngineVersion?: string;
  cacheNodeType?: string;
  cacheEngine?: string;
  /** As typed: the config check says what is wrong with a count that is not one. */
  cacheReplicas?: string;
  domain?: string;
  createHostedZone?: boolean;
  certificateArn?: string;
  proxyProtocol?: boolean;
  /** A file holding the operator's SSH public key. */
  sshPublicKey?: string;
  /** install: write the complete answers there once the wizard is done, before anything is created. */
  saveConfig?: string;
  /** teardown: delete buckets that hold data too. */
  deleteData?: boolean;
  skipFinalSnapshot?: boolean;
}

/**
 * What a command runs with: its options, the host it speaks and asks through, the interrupt, and
 * `atQuit`: what must still happen if the operator quits at once (a second Ctrl-C), when no
 * promise runs again. Each entry is synchronous and quick; the answer takes it back.
 */
export interface CommandContext {
  options: GlobalOptions;
  host: IoHost;
  signal: AbortSignal;
  atQuit(last: () => void): () => void;
}

/**
 * Every command line the CLI prints for the operator to run, built in this one place so it works
 * when pasted: the verb (`resume`, `status`, `teardown`...), the options that locate this
 * deployment (--deployment, --state-dir, --profile, --sandbox; --region where the command needs
 * it without a state file, like `status --discover`: the caller passes it), then `extra`. Defaults are left out.
 */
export function commandLine(
  options: Pick<GlobalOptions, 'deployment' | 'stateDir' | 'sandbox' | 'profile'>,
  verb: string,
  { region }: { region?: string | undefined } = {},
  ...extra: string[]
): string {
  const parts = ['gitlab-aws', verb, ...extra];
  if (options.deployment !== 'gitlab') parts.push('--deployment', options.deployment);
  if (options.stateDir !== './.gitlab-aws') parts.push('--state-dir', options.stateDir);
  if (region) parts.push('--region', region);
  if (options.profile) parts.push('--profile', options.profile);
  if (options.sandbox) parts.push('--sandbox');
  return parts.map(shellWord).join(' ');
}

/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
