import { z } from 'zod';
import { isRegionName } from './regions.js';
import { parseNetwork, contains, overlaps, type Network } from './cidr.js';
import { RDS_POSTGRES_CLASS, RDS_STORAGE_TYPES, rdsStorageProblem } from '../aws/rds-limits.js';
import { computeAnswers, computeConfigSchema, computeFileSchema, GITLAB_MAJORS } from './compute.js';
import { gitlabMajorsFor, POSTGRES_FOR_GITLAB, postgresMismatch, postgresNeeded } from '../gitlab/versions.js';
import { ConfigError } from './errors.js';

/** The guide's network: one VPC, a public and a private /24 in each of two Availability Zones. */
export const GUIDE_NETWORK = {
  vpcCidr: '10.0.0.0/16',
  subnetCidrs: {
    publicA: '10.0.0.0/24',
    privateA: '10.0.1.0/24',
    publicB: '10.0.2.0/24',
    privateB: '10.0.3.0/24',
  },
} as const;

export const SUBNET_KEYS = ['publicA', 'privateA', 'publicB', 'privateB'] as const;
export type SubnetKey = (typeof SUBNET_KEYS)[number];

/**
 * The guide's cache: GitLab's docs recommend ElastiCache for Valkey 7.2 on AWS (Redis OSS 7.1 the
 * alternative), a cache.t3.medium primary and one replica in the other Availability Zone.
 */
export const CACHE_DEFAULTS = { nodeType: 'cache.t3.medium', engine: 'valkey', replicas: 1 } as const;
export const CACHE_ENGINES = ['valkey', 'redis'] as const;
/**
 * A cluster-mode-disabled replication group holds a primary and up to five replicas; Multi-AZ
 * with automatic failover, which the guide turns on, needs at least one.
 */
export const CACHE_REPLICAS = { min: 1, max: 5 } as const;
/** cache.<family>.<size>, as ElastiCache names its node types (cache.t3.medium, cache.r7g.large). */
const CACHE_NODE_TYPE = /^cache\.[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** A deployment name becomes part of every resource name, so it must be valid in all of them. */
export const DEPLOYMENT_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * The guide's "PostgreSQL with RDS" answers. Defaults: db.m5.large (the guide advises against
 * burstable classes), io1 100 GiB at 1000 IOPS, PostgreSQL 17 (the newest 17.x RDS offers in
 * the region; GitLab 19 needs 17, 18.x accepts 16.5 or newer up to 17: checkPostgresForGitlab).
 */
const databaseFileSchema = z
  .object({
    instanceClass: z.string().optional(),
    /** A burstable class (db.t*) is used only when this is true: the one explicit "yes" to it. */
    allowBurstable: z.boolean().optional(),
    storageType: z.enum(RDS_STORAGE_TYPES).optional(),
    allocatedStorage: z.number().int().optional(),
    iops: z.number().int().optional(),
    /** A major version (17: its newest minor) or an exact one (17.4). */
    engineVersion: z.string().optional(),
    /** An existing DB parameter group to use instead of the engine's default (checked for what GitLab needs). */
    parameterGroup: z.string().optional(),
  })
  .strict();

export const DATABASE_DEFAULTS = {
  instanceClass: 'db.m5.large',
  allowBurstable: false,
  storageType: 'io1',
  allocatedStorage: 100,
  iops: 1000,
  engineVersion: '17',
} as const;

/** The PostgreSQL majors GitLab runs on. */
export const POSTGRES_MAJORS = ['16', '17'];

/** What an operator may put in a --config file: every field optional, unknown fields refused. */
export const configFileSchema = z
  .object({
    /** The deployment's name (eksctl's metadata.name); --deployment on the command line wins. */
    deployment: z.string().optional(),
    region: z.string().optional(),
    availabilityZones: z.tuple([z.string(), z.string()]).optional(),
    vpcCidr: z.string().optional(),
    subnetCidrs: z
      .object({
        publicA: z.string().optional(),
        privateA: z.string().optional(),
        publicB: z.string().optional(),
        privateB: z.string().optional(),
      })
      .strict()
      .optional(),
    sshCidr: z.string().optional(),
    sshFromAnywhere: z.boolean().optional(),
    bucketPrefix: z.string().optional(),
    database: databaseFileSchema.optional(),
    cache: z
      .object({ nodeType: z.string().optional(), engine: z.string().optional(), replicas: z.number().optional() })
      .strict()
      .optional(),
    domain: z.string().optional(),
    createHostedZone: z.boolean().optional(),
    certificateArn: z.string().optional(),
    proxyProtocol: z.boolean().optional(),
    /** The SSH public key itself (one line), so saved answers need no key file beside them. */
    sshPublicKey: z.string().optional(),
    ...computeFileSchema,
  })
  .strict();
export type ConfigFile = z.infer<typeof configFileSchema>;

/** The complete, validated answers an install runs with. Stored in the state file. */
export const installConfigSchema = z
  .object({
    deployment: z.string().regex(DEPLOYMENT_NAME),
    region: z.string(),
    /** Empty: the first two the region offers, chosen when the subnets are created. */
    availabilityZones: z.array(z.string()).max(2),
    vpcCidr: z.string(),
    subnetCidrs: z.object({
      publicA: z.string(),
      privateA: z.string(),
      publicB: z.string(),
      privateB: z.string(),
    }),
    /**
     * Where SSH may come from: Git over SSH to the load balancer and the bastions. Absent: no
     * SSH from outside the VPC at all until the operator names a trusted range.
     */
    sshCidr: z.string().optional(),
    /** SSH from 0.0.0.0/0 and ::/0; only when asked for explicitly. */
    sshFromAnywhere: z.boolean(),
    /** Bucket names are `<prefix>-<type>`; absent: gl-<deployment>-<account id>. */
    bucketPrefix: z.string().optional(),
    database: z
      .object({
        instanceClass: z.string(),
        allowBurstable: z.boolean(),
        storageType: z.enum(RDS_STORAGE_TYPES),
        allocatedStorage: z.number().int(),
        iops: z.number().int().optional(),
        engineVersion: z.string(),
        parameterGroup: z.string().optional(),
      })
      // A state file written before the database step existed installed with the guide's defaults.
      .default(() => databaseAnswers(undefined)),
    /** ElastiCache (guide: "Redis with ElastiCache"); older state files get the defaults. */
    cache: z
      .object({ nodeType: z.string(), engine: z.enum(['valkey', 'redis']), replicas: z.number().int() })
      .strict()
      .default(() => ({ ...CACHE_DEFAULTS })),
    /**
     * The name GitLab answers on (`gitlab.example.com`): the certificate's and the alias record's.
     * The sandbox defaults it; on real AWS an install without one is refused before anything.
     */
    domain: z.string().optional(),
    /** The operator agreed to create a public hosted zone for the domain when none matches. */
    createHostedZone: z.literal(true).optional(),
    /** An existing ACM certificate for the domain; absent: one is requested and validated by DNS. */
    certificateArn: z.string().optional(),
    /** Proxy protocol v2 on the HTTP target group (GitLab's NGINX must then expect it). */
    proxyProtocol: z.literal(true).optional(),
    ...computeConfigSchema,
  })
  .strict();
export type InstallConfig = z.infer<typeof installConfigSchema>;

export { ConfigError };

/** Fills the guide's defaults in and checks everything an operator could get wrong. */
export function buildInstallConfig(input: {
  deployment: string;
  region: string;
  file?: ConfigFile;
  /** Command-line answers; they win over the file's. */
  flags?: Pick<ConfigFile, 'sshCidr' | 'sshFromAnywhere' | 'bucketPrefix' | 'cache' | EdgeAnswer> & {
    dbInstanceClass?: string | undefined;
  };
  /** The SSH public key's material, read from --ssh-public-key or sshPublicKeyFile by the caller. */
  sshPublicKey?: string;
  /** The sandbox account has a zone example.com, so the domain defaults to gitlab.example.com there. */
  sandbox?: boolean;
}): InstallConfig {
  const { dbInstanceClass, ...flags } = input.flags ?? {};
  const file = { ...input.file, ...definedOnly(flags) };
  if (dbInstanceClass !== undefined) file.database = { ...file.database, instanceClass: dbInstanceClass };
  // A flag overrides one cache answer of the file, not the file's whole cache object.
  file.cache = { ...input.file?.cache, ...definedOnly(input.flags?.cache ?? {}) };
  const config: InstallConfig = {
    deployment: input.deployment,
    region: input.region,
    availabilityZones: file.availabilityZones ?? [],
    vpcCidr: file.vpcCidr ?? GUIDE_NETWORK.vpcCidr,
    subnetCidrs: { ...GUIDE_NETWORK.subnetCidrs, ...file.subnetCidrs },
    sshFromAnywhere: file.sshFromAnywhere ?? false,
    ...(file.sshCidr ? { sshCidr: file.sshCidr } : {}),
    ...(file.bucketPrefix ? { bucketPrefix: file.bucketPrefix } : {}),
    database: databaseAnswers(file.database),
    cache: cacheAnswers(file.cache),
    ...edgeAnswers(file, input.sandbox ?? false),
    ...computeAnswers({ ...file, ...(input.sshPublicKey !== undefined ? { sshPublicKey: input.sshPublicKey } : {}) }),
  };
  checkInstallConfig(config);
  return config;
}

export function checkInstallConfig(config: InstallConfig): void {
  if (!DEPLOYMENT_NAME.test(config.deployment)) {
    throw new ConfigError(
      `deployment name '${config.deployment}' is invalid: use 1-20 lowercase letters, digits or hyphens, starting with a letter`,
    );
  }
  if (!isRegionName(config.region)) {
    throw new ConfigError(`'${config.region}' is not an AWS region name (like us-west-2 or eu-central-1)`);
  }
  // us-west-2a, or a Local Zone like us-west-2-lax-1a; never the region's own name.
  const zone = new RegExp(`^${config.region}(-[a-z]+-\\d+)?[a-z]$`);
  for (const az of config.availabilityZones) {
    if (!zone.test(az)) {
      throw new ConfigError(`Availability Zone '${az}' is not in region ${config.region}`);
    }
  }
  if (new Set(config.availabilityZones).size !== config.availabilityZones.length) {
    throw new ConfigError('the two Availability Zones must differ (the guide spreads across two)');
  }
  checkNetwork(config);
  checkAccess(config);
  checkDatabase(config);
  checkEdge(config);
}

/** The file's database answers over the guide's defaults; IOPS only where the storage takes them. */
function databaseAnswers(file: ConfigFile['database']): InstallConfig['database'] {
  const storageType = file?.storageType ?? DATABASE_DEFAULTS.storageType;
  const allocatedStorage = file?.allocatedStorage ?? DATABASE_DEFAULTS.allocatedStorage;
  const iops = file?.iops ?? (storageType === 'io1' || storageType === 'io2' ? DATABASE_DEFAULTS.iops : undefined);
  return {
    instanceClass: file?.instanceClass ?? DATABASE_DEFAULTS.instanceClass,
    allowBurstable: file?.allowBurstable ?? DATABASE_DEFAULTS.allowBurstable,
    storageType,
    allocatedStorage,
    ...(iops !== undefined ? { iops } : {}),
    engineVersion: file?.engineVersion ?? DATABASE_DEFAULTS.engineVersion,
    ...(file?.parameterGroup ? { parameterGroup: file.parameterGroup } : {}),
  };
}

function checkDatabase(config: InstallConfig): void {
  const db = config.database;
  if (!RDS_POSTGRES_CLASS.test(db.instanceClass)) {
    throw new ConfigError(
      `database.instanceClass '${db.instanceClass}' is not an RDS for PostgreSQL instance class`,
      `use one like ${DATABASE_DEFAULTS.instanceClass} (the guide's) or db.r6i.large in database.instanceClass`,
    );
  }
  const storage = rdsStorageProblem(db.storageType, db.allocatedStorage, db.iops);
  if (storage) {
    throw new ConfigError(
      `database storage is invalid: ${storage}`,
      'fix database.storageType, database.allocatedStorage or database.iops in --config; nothing was created',
    );
  }
  const [major] = db.engineVersion.split('.');
  if (!/^\d+(\.\d+)?$/.test(db.engineVersion) || !POSTGRES_MAJORS.includes(major!)) {
    throw new ConfigError(
      `database.engineVersion '${db.engineVersion}' is not a PostgreSQL version GitLab runs on`,
      `use ${POSTGRES_MAJORS.join(' or ')} (the newest minor RDS offers) or an exact version such as 17.4`,
    );
  }
  checkPostgresForGitlab(config);
  if (db.parameterGroup !== undefined && !/^[a-zA-Z][a-zA-Z0-9.-]{0,254}$/.test(db.parameterGroup)) {
    throw new ConfigError(`database.parameterGroup '${db.parameterGroup}' is not a DB parameter group name`);
  }
}

/**
 * The PostgreSQL version fits the GitLab release, as far as the answers tell offline (preflight
 * judges again once RDS has named the exact PostgreSQL and the official AMIs the exact release).
 * A GitLab version given (`19`, `19.5`, `19.5.1`) decides by its major. Left unset ("the newest
 * the region's official AMIs offer"), the release is not known offline: it is the newest of
 * GITLAB_MAJORS in a region that has it, but a region may lag a major behind. So offline we refuse
 * only a PostgreSQL no supported major runs on (16.4: 18 needs 16.5, 19 needs 17), and leave 16
 * with an unset version to preflight, which refuses it when the newest release turns out to be 19.
 */
function checkPostgresForGitlab(config: InstallConfig): void {
  const postgres = config.database.engineVersion;
  const majors = GITLAB_MAJORS.map(Number);
  const gitlab = config.gitlab.version;
  if (gitlab !== undefined) {
    const mismatch = postgresMismatch(postgres, gitlab, majors);
    if (mismatch) throw new ConfigError(mismatch.problem, `${mismatch.fix}; nothing was created`);
    return;
  }
  if (gitlabMajorsFor(postgres, majors).length) return;
  const fitting = POSTGRES_FOR_GITLAB[Math.max(...majors)]!.newestMajor;
  throw new ConfigError(
    `PostgreSQL ${postgres} fits no GitLab release this installer installs: ${majors.map((m) => `GitLab ${m} needs ${postgresNeeded(m)}`).join('; ')}`,
    `set database.engineVersion to ${fitting} (--db-engine-version ${fitting}, its newest minor); nothing was created`,
  );
}

/** The cache answers with the guide's defaults filled in, checked as ElastiCache would before anything is made. */
function cacheAnswers(given: ConfigFile['cache']): InstallConfig['cache'] {
  const cache = { ...CACHE_DEFAULTS, ...definedOnly(given ?? {}) };
  if (!(CACHE_ENGINES as readonly string[]).includes(cache.engine)) {
    throw new ConfigError(
      `cache.engine '${cache.engine}' is not one this installer offers`,
      `use 'valkey' (Valkey 7.2, GitLab's recommendation on AWS) or 'redis' (Redis OSS 7.1); nothing was created`,
    );
  }
  if (!CACHE_NODE_TYPE.test(cache.nodeType)) {
    throw new ConfigError(
      `cache.nodeType '${cache.nodeType}' is not an ElastiCache node type`,
      'name one like cache.t3.medium or cache.r7g.large; nothing was created',
    );
  }
  const { min, max } = CACHE_REPLICAS;
  if (!Number.isInteger(cache.replicas) || cache.replicas < min || cache.replicas > max) {
    throw new ConfigError(
      `cache.replicas ${cache.replicas} is out of range: a Multi-AZ replication group with automatic failover has ${min} to ${max} replicas`,
      `set cache.replicas between ${min} and ${max}; nothing was created`,
    );
  }
  return { nodeType: cache.nodeType, engine: cache.engine as InstallConfig['cache']['engine'], replicas: cache.replicas };
}

export type EdgeAnswer = 'domain' | 'createHostedZone' | 'certificateArn' | 'proxyProtocol';

/** The domain the sandbox's built-in zone `example.com` holds (src/sandbox/seed.ts). */
export const SANDBOX_DOMAIN = 'gitlab.example.com';

function edgeAnswers(file: ConfigFile, sandbox: boolean): Pick<InstallConfig, EdgeAnswer> {
  const domain = file.domain?.toLowerCase().replace(/\.$/, '') ?? (sandbox ? SANDBOX_DOMAIN : undefined);
  return {
    ...(domain ? { domain } : {}),
    ...(file.createHostedZone ? { createHostedZone: true as const } : {}),
    ...(file.certificateArn ? { certificateArn: file.certificateArn } : {}),
    ...(file.proxyProtocol ? { proxyProtocol: true as const } : {}),
  };
}

/** A host name of two labels or more, each 1-63 letters, digits or inner hyphens (what ACM and Route 53 take). */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;

function checkEdge(config: InstallConfig): void {
  if (config.domain !== undefined && !DOMAIN.test(config.domain)) {
    throw new ConfigError(
      `domain '${config.domain}' is not a host name`,
      'give the name GitLab will answer on, like --domain gitlab.example.com; nothing was created',
    );
  }
  if (config.certificateArn !== undefined) {
    const match = CERTIFICATE_ARN.exec(config.certificateArn);
    if (!match) {
      throw new ConfigError(
        `certificateArn '${config.certificateArn}' is not an ACM certificate ARN`,
        'give one like arn:aws:acm:us-west-2:123456789012:certificate/<id> (aws acm list-certificates), or leave it out to request one',
      );
    }
    if (match[1] !== config.region) {
      throw new ConfigError(
        `certificate ${config.certificateArn} is in ${match[1]}, not ${config.region}: a load balancer takes certificates of its own region only`,
        `import or request the certificate in ${config.region}, or leave certificateArn out to request one; nothing was created`,
      );
    }
  }
}

/** The domain an install builds for: refused (exit 2, before anything) when the operator gave none. */
export function requireDomain(config: InstallConfig): string {
  if (config.domain) return config.domain;
  throw new ConfigError(
    'no domain given: the certificate, the load balancer and the DNS record need the name GitLab answers on',
    'pass --domain gitlab.yourcompany.com (or "domain" in --config); nothing was created',
  );
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The longest of the bucket types that follow the prefix (`<prefix>-agent-plan-content`); a test
 * holds it against the steps' list, so the config need not import a step.
 */
export const LONGEST_BUCKET_TYPE = 'agent-plan-content';
const BUCKET_NAME_MAX = 63;
const BUCKET_PREFIX_MAX = BUCKET_NAME_MAX - `-${LONGEST_BUCKET_TYPE}`.length;
/**
 * S3's naming rules as they bear on a prefix: lowercase letters, digits and hyphens, starting and
 * ending with a letter or digit. No dots, though S3 allows them: GitLab reaches its buckets
 * virtual-hosted style over HTTPS, and a dotted name breaks the *.s3.amazonaws.com certificate
 * (and Transfer Acceleration).
 */
const BUCKET_PREFIX = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Prefixes and suffixes S3 reserves (its alias, access point and directory bucket names). */
const RESERVED_BUCKET_STARTS = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_ENDS = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why S3 would refuse buckets named `<prefix>-<type>`, or undefined when it would not. */
export function bucketPrefixProblem(prefix: string): string | undefined {
  if (prefix.length > BUCKET_PREFIX_MAX) {
    return `it is ${prefix.length} characters; S3 allows ${BUCKET_NAME_MAX} for a whole name and '-${LONGEST_BUCKET_TYPE}' takes ${BUCKET_NAME_MAX - BUCKET_PREFIX_MAX}, so use at most ${BUCKET_PREFIX_MAX}`;
  }
  if (!BUCKET_PREFIX.test(prefix)) {
    return 'use lowercase letters, digits and hyphens only (no dots), starting and ending with a letter or digit';
  }
  const start = RESERVED_BUCKET_STARTS.find((reserved) => prefix.startsWith(reserved));
  if (start) return `S3 reserves names starting with '${start}'`;
  // Our names end with the type, so S3 would take these; we refuse them anyway so no bucket of
  // ours reads like an access point or directory bucket alias to whoever audits the account.
  const end = RESERVED_BUCKET_ENDS.find((reserved) => prefix.endsWith(reserved));
  if (end) return `S3 reserves '${end}' at the end of a name for its aliases`;
  return undefined;
}

function checkAccess(config: InstallConfig): void {
  if (config.sshCidr !== undefined && config.sshFromAnywhere) {
    throw new ConfigError(
      `sshCidr ${config.sshCidr} (--ssh-cidr) and sshFromAnywhere (--ssh-from-anywhere) are both given, and they contradict each other`,
      'give only one: --ssh-cidr for a trusted range, or --ssh-from-anywhere to open SSH to the whole internet',
    );
  }
  if (config.sshCidr !== undefined) {
    const net = parseOrExplain('sshCidr', config.sshCidr);
    if (net.bits === 0) {
      throw new ConfigError(
        'sshCidr 0.0.0.0/0 would open SSH to the whole internet; if you mean it, set sshFromAnywhere (--ssh-from-anywhere) instead',
      );
    }
  }
  if (config.bucketPrefix !== undefined) {
    const problem = bucketPrefixProblem(config.bucketPrefix);
    if (problem)
      throw new ConfigError(
        `bucketPrefix '${config.bucketPrefix}' is invalid: ${problem}`,
        'choose another bucketPrefix (--bucket-prefix, or in --config); nothing was created',
      );
  }
}

function checkNetwork(config: InstallConfig): void {
  const vpc = parseOrExplain('vpcCidr', config.vpcCidr);
  if (vpc.bits < 16 || vpc.bits > 28) {
    throw new ConfigError(`vpcCidr ${vpc.cidr}: AWS allows a VPC between /16 and /28`);
  }
  const subnets: Array<[SubnetKey, Network]> = SUBNET_KEYS.map((key) => [
    key,
    parseOrExplain(`subnetCidrs.${key}`, config.subnetCidrs[key]),
  ]);
  for (const [key, net] of subnets) {
    if (net.bits > 28) {
      throw new ConfigError(`subnetCidrs.${key} ${net.cidr}: AWS allows subnets up to /28`);
    }
    if (!contains(vpc, net)) {
      throw new ConfigError(`subnetCidrs.${key} ${net.cidr} is outside the VPC's ${vpc.cidr}`);
    }
  }
  for (let i = 0; i < subnets.length; i++) {
    for (let j = i + 1; j < subnets.length; j++) {
      const [ka, a] = subnets[i]!;
      const [kb, b] = subnets[j]!;
      if (overlaps(a, b)) {
        throw new ConfigError(`subnetCidrs.${ka} ${a.cidr} overlaps subnetCidrs.${kb} ${b.cidr}`);
      }
    }
  }
}

function parseOrExplain(field: string, cidr: string): Network {
  try {
    return parseNetwork(cidr);
  } catch (err) {
    throw new ConfigError(`${field}: ${(err as Error).message}`);
  }
}
