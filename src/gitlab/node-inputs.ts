import type { InstallConfig } from '../config/schema.js';
import { ACCOUNT_PLACEHOLDER } from '../engine/plan.js';
import { elasticache } from '../steps/elasticache.js';
import { gitaly } from '../steps/gitaly.js';
import { loadBalancer } from '../steps/load-balancer.js';
import { machineImages } from '../steps/machine-images.js';
import { bucketNames, guideNames, type BucketType } from '../steps/names.js';
import { DATABASE, rdsPostgres } from '../steps/rds-postgres.js';
import { s3Buckets } from '../steps/s3-buckets.js';
import { parameterNames, secrets, type SecretName } from '../steps/secrets.js';
import { vpc } from '../steps/vpc.js';
import { resourceTags, TAG_NAME } from '../aws/tags.js';
import type { GeneratedSecrets, GitalyNodeInput, GitlabRelease, RailsNodeInput } from './inputs.js';

/** What the steps learned from AWS that gitlab.rb names; each absent until its step has run. */
export interface KnownFacts {
  release?: GitlabRelease;
  vpcCidr?: string;
  database?: RailsNodeInput['database'];
  redis?: RailsNodeInput['redis'];
  /** Gitaly's private IP. */
  gitalyAddress?: string;
  buckets?: Record<BucketType, string>;
  parameters?: Record<SecretName, string>;
  proxyProtocol?: boolean;
}

/** A fact not known yet, visible as such in what `render` prints (and never valid in AWS). */
const unknown = (what: string, step: string) => `<${what}: known after ${step}>`;

/**
 * The facts from the recorded outputs of the steps that learn them (the state file's, or the
 * install's own), by step id; a step not run yet, or outputs of another shape, give no fact.
 */
export function factsFromOutputs(outputs: Readonly<Record<string, unknown>>): KnownFacts {
  const read = <T>(step: { id: string; outputs: { safeParse(v: unknown): { success: true; data: T } | { success: false } } }) => {
    const parsed = step.outputs.safeParse(outputs[step.id]);
    return parsed.success ? parsed.data : undefined;
  };
  const images = read(machineImages);
  const network = read(vpc);
  const db = read(rdsPostgres);
  const cache = read(elasticache);
  const gitalyNode = read(gitaly);
  const storage = read(s3Buckets);
  const stored = read(secrets);
  const edge = read(loadBalancer);
  return {
    ...(images && { release: { edition: images.gitlab.edition, version: images.gitlab.version } }),
    ...(network && { vpcCidr: network.cidrBlock }),
    ...(db && { database: { host: db.address, port: db.port, name: db.database, username: db.username } }),
    ...(cache && { redis: { host: cache.primaryEndpoint.address, port: cache.primaryEndpoint.port } }),
    ...(gitalyNode && { gitalyAddress: gitalyNode.privateIp }),
    ...(storage && { buckets: storage.buckets as Record<BucketType, string> }),
    ...(stored && { parameters: stored.parameters as Record<SecretName, string> }),
    ...(edge && { proxyProtocol: edge.proxyProtocol }),
  };
}

/** The steps whose outputs a Rails node's gitlab.rb is written from: what `factsFromOutputs` reads. */
export const FACT_STEPS = [
  'machine-images',
  'vpc',
  'secrets',
  'rds-postgres',
  'elasticache',
  'gitaly',
  's3-buckets',
  'load-balancer',
] as const;

/** The facts from a step that needs every one of FACT_STEPS (the base instance, the launch template). */
export function factsFromSteps(ctx: { output(id: (typeof FACT_STEPS)[number]): unknown }): KnownFacts {
  return factsFromOutputs(Object.fromEntries(FACT_STEPS.map((id) => [id, ctx.output(id)])));
}

/** A version as exact as the official AMIs name one: 19.5.1. */
export const isExactVersion = (version: string | undefined): version is string => version !== undefined && /^\d+\.\d+\.\d+$/.test(version);

/**
 * The release: machine-images' once it ran (or what `render` looked up the same way), else the
 * answer when exact, else its newest form: `18.x` / `18.11.x` for a partial answer (the renderers
 * then write what the newest of that major or minor reads; versions.ts), a placeholder for none.
 */
function release(config: InstallConfig, facts: KnownFacts): GitlabRelease {
  if (facts.release) return facts.release;
  const answered = config.gitlab.version;
  const version = isExactVersion(answered) ? answered : answered ? `${answered}.x` : unknown('newest release', 'machine-images');
  return { edition: config.gitlab.edition, version };
}

/** Keys the first reconfigure generates, stored beside our secrets and tagged as the secrets step's own. */
function generatedSecrets(deployment: string): GeneratedSecrets {
  return {
    path: `${guideNames(deployment).parameterPath}/generated`,
    tags: resourceTags(deployment, secrets.id, '').filter((tag) => tag.Key !== TAG_NAME),
  };
}

/** What every node shares: the release, the domain, the region, the VPC, the parameter names (deterministic). */
function common(config: InstallConfig, facts: KnownFacts) {
  return {
    release: release(config, facts),
    domain: config.domain ?? '<domain: not answered>',
    region: config.region,
    vpcCidr: facts.vpcCidr ?? config.vpcCidr,
    parameters: facts.parameters ?? parameterNames(config.deployment),
    generated: generatedSecrets(config.deployment),
  };
}

/** One builder for `render` and install, so both show and use the same facts. */
export function railsNodeInput(config: InstallConfig, role: RailsNodeInput['role'], facts: KnownFacts): RailsNodeInput {
  return {
    ...common(config, facts),
    role,
    database: facts.database ?? {
      host: unknown('database host', 'rds-postgres'),
      port: DATABASE.port,
      name: DATABASE.name,
      username: DATABASE.user,
    },
    redis: facts.redis ?? { host: unknown('redis primary endpoint', 'elasticache'), port: 6379 },
    gitalyAddress: facts.gitalyAddress ?? unknown('gitaly private IP', 'gitaly'),
    // Bucket names carry the account unless a prefix was answered; before s3-buckets it shows as <account>.
    buckets: facts.buckets ?? bucketNames(config, ACCOUNT_PLACEHOLDER),
    proxyProtocol: facts.proxyProtocol ?? config.proxyProtocol === true,
  };
}

export function gitalyNodeInput(config: InstallConfig, facts: KnownFacts): GitalyNodeInput {
  return common(config, facts);
}
