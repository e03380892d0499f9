import type { GitlabEdition } from '../config/compute.js';
import type { BucketType } from '../steps/names.js';
import type { SecretName } from '../steps/secrets.js';

/**
 * What the renderers of gitlab.rb and user-data take: facts the steps learned from AWS, never a
 * secret. Secrets appear only as the names of their SSM parameters; the instance reads the values
 * at boot with its role (see user-data.ts).
 */
export interface GitlabRelease {
  edition: GitlabEdition;
  /** Exact, as the official AMI names it: 19.5.1. */
  version: string;
}

/**
 * Where the keys a first reconfigure generates are kept (Parameter Store, below the secrets'
 * path), and the tags they are stored with, so the secrets step finds and removes them.
 */
export interface GeneratedSecrets {
  path: string;
  tags: Array<{ Key: string; Value: string }>;
}

export interface RailsNodeInput {
  release: GitlabRelease;
  /** `base`: the configured base instance, which runs the migrations; `clone`: nodes the ASG launches. */
  role: 'base' | 'clone';
  domain: string;
  region: string;
  vpcCidr: string;
  database: { host: string; port: number; name: string; username: string };
  redis: { host: string; port: number };
  /** The Gitaly instance's private IP (tcp://<ip>:8075). */
  gitalyAddress: string;
  buckets: Record<BucketType, string>;
  /** Each secret's SSM parameter name (the secrets step's outputs). */
  parameters: Record<SecretName, string>;
  generated: GeneratedSecrets;
  /** Proxy protocol v2 is on for the HTTP target group. */
  proxyProtocol: boolean;
}

export interface GitalyNodeInput {
  release: GitlabRelease;
  domain: string;
  region: string;
  vpcCidr: string;
  parameters: Record<SecretName, string>;
  generated: GeneratedSecrets;
}

export interface BastionInput {
  /** Nothing to configure beyond the image's defaults; the name shows in the console output. */
  name: string;
}
