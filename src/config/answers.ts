import type { Choice } from '../ui/host.js';
import { RDS_STORAGE_TYPES } from '../aws/rds-limits.js';
import {
  AUTO_SCALING_DEFAULTS,
  BASTION_DEFAULTS,
  GITALY_DEFAULTS,
  GITLAB_DEFAULTS,
  GITLAB_EDITIONS,
  GITLAB_MAJORS,
  IO1_LIMITS,
  requireSshPublicKey,
} from './compute.js';
import { ConfigError } from './errors.js';
import { postgresMismatch } from '../gitlab/versions.js';
import { readPublicKeyFileSync, sandboxPublicKey } from './ssh-key.js';
import { GUIDE_REGION } from './regions.js';
import {
  buildInstallConfig,
  CACHE_DEFAULTS,
  CACHE_ENGINES,
  DATABASE_DEFAULTS,
  GUIDE_NETWORK,
  requireDomain,
  SANDBOX_DOMAIN,
  type ConfigFile,
  type InstallConfig,
} from './schema.js';

/**
 * One definition per answer (issue 10): its key in the config file, the question the wizard asks,
 * the guide's default, one line of why, its flag, and how it is checked. The wizard, the flags,
 * `install --help` and the README's table all derive from ANSWERS, in the guide's order, so they
 * cannot drift; an answer is checked by building the whole configuration with it (`answerProblem`),
 * the same code a --config file goes through.
 */

/** How an answer is typed: free text ('' = not set), a whole number, a number, yes/no, two zones. */
export type AnswerKind = 'text' | 'count' | 'number' | 'yes-no' | 'zones';

/** What the wizard learnt from AWS and the machine before asking; each question reads what it needs. */
export interface Facts {
  sandbox: boolean;
  /** The deployment name --deployment's default gives. */
  deployment: string;
  /** The region the SDK's own sources name (AWS_REGION, the profile), if any. */
  sdkRegion?: string | undefined;
  /** The region's zones offering every chosen instance type, sorted. */
  zones?: readonly string[];
  /** Whether a public hosted zone of the account holds the domain. */
  zoneFound?: boolean;
  /** ISSUED ACM certificates covering the domain. */
  certificates?: ReadonlyArray<{ arn: string; names: string }>;
  /** The GitLab versions the region's official AMIs offer for the edition, newest first. */
  gitlabVersions?: readonly string[];
  /** The SSH public key files in ~/.ssh. */
  sshKeys?: readonly string[];
}

/** The facts a question needs looked up first (src/wizard/facts.ts). */
export type FactName = 'zones' | 'hostedZone' | 'certificates' | 'gitlabVersions' | 'sshKeys';

export interface AnswerDef {
  /** Its path in the config file (`database.instanceClass`); also the question's id. */
  key: string;
  question: string;
  why: string;
  kind: AnswerKind;
  /** The default in words, for --help and the README. */
  guide: string;
  /** The default, from the answers so far and the facts; undefined: not set. */
  default(answers: ConfigFile, facts: Facts): unknown;
  choices?(answers: ConfigFile, facts: Facts): Choice[];
  /** Its flag; `global` ones (--deployment, --region) every command takes already. */
  flag?: { flags: string; description: string; global?: true };
  /** `before`: asked before the AWS session opens (it needs no AWS); `after`: with it. */
  stage: 'before' | 'after';
  facts?: FactName;
  /** Rarely changed: asked only when the operator opts in to them. */
  rare?: boolean;
  /** false: a config-file (or flag) answer only; another question answers it, or it needs no asking. */
  asked?: false;
  /** Asked only when this holds (the IOPS of a storage type that takes them). */
  when?(answers: ConfigFile, facts: Facts): boolean;
  /** Keys that, when given, answer this question too (sshFromAnywhere answers the SSH range). */
  answeredBy?: string[];
  /** What building needs of this answer beyond the config check (a domain on real AWS). */
  require?(config: InstallConfig, facts: Facts): void;
}

const yesNo = (key: string) => (answers: ConfigFile) => (getAnswer(answers, key) as boolean | undefined) ?? false;
const fixed = (value: unknown) => () => value;
/** The EC2 instance types the answers choose (each zone must offer them all). */
export const chosenInstanceTypes = (answers: ConfigFile): string[] => [
  (getAnswer(answers, 'gitlab.instanceType') as string | undefined) ?? GITLAB_DEFAULTS.instanceType,
  (getAnswer(answers, 'gitaly.instanceType') as string | undefined) ?? GITALY_DEFAULTS.instanceType,
  (getAnswer(answers, 'bastion.instanceType') as string | undefined) ?? BASTION_DEFAULTS.instanceType,
];

/** Both orders of two zones are the same choice; the list offers each pair once, in name order. */
function zonePairs(zones: readonly string[]): Choice[] {
  const pairs: Choice[] = [];
  for (let i = 0; i < zones.length; i++) {
    for (let j = i + 1; j < zones.length; j++) pairs.push({ value: `${zones[i]},${zones[j]}`, name: `${zones[i]} and ${zones[j]}` });
  }
  return pairs;
}

/** The choice meaning "request a new certificate" / "the newest release": the answer left unset. */
export const UNSET = '';

export const ANSWERS: readonly AnswerDef[] = [
  {
    key: 'deployment',
    question: 'Deployment name',
    why: 'Every resource name starts with it (gitlab-vpc, gitlab-db-ha); several installations need names of their own.',
    kind: 'text',
    guide: 'gitlab',
    stage: 'before',
    default: (_a, facts) => facts.deployment,
    flag: { flags: '--deployment <name>', description: 'name of this installation', global: true },
  },
  {
    key: 'region',
    question: 'AWS region',
    why: 'The guide builds in one region; everything, the certificate included, lives there.',
    kind: 'text',
    guide: `AWS_REGION, then the profile's region (${GUIDE_REGION} in the sandbox)`,
    stage: 'before',
    default: (_a, facts) => facts.sdkRegion ?? (facts.sandbox ? GUIDE_REGION : UNSET),
    flag: { flags: '--region <region>', description: 'AWS region', global: true },
  },
  {
    key: 'availabilityZones',
    question: 'Availability Zones',
    why: 'The guide spreads subnets, the database, the cache and GitLab over two zones; each must offer every instance type chosen.',
    kind: 'zones',
    guide: 'the first two zones offering every instance type',
    stage: 'after',
    facts: 'zones',
    default: (_a, facts) => (facts.zones && facts.zones.length >= 2 ? facts.zones.slice(0, 2) : undefined),
    choices: (_a, facts) => zonePairs(facts.zones ?? []),
    when: (_a, facts) => (facts.zones?.length ?? 0) >= 2,
    flag: { flags: '--availability-zones <a,b>', description: 'the two Availability Zones, e.g. us-west-2a,us-west-2b' },
  },
  {
    key: 'domain',
    question: 'Domain GitLab answers on',
    why: 'The certificate, the load balancer and the DNS record are made for this name.',
    kind: 'text',
    guide: `none: required on AWS (${SANDBOX_DOMAIN} in the sandbox)`,
    stage: 'after',
    default: (_a, facts) => (facts.sandbox ? SANDBOX_DOMAIN : UNSET),
    flag: { flags: '--domain <name>', description: 'the name GitLab answers on, e.g. gitlab.example.com (the sandbox default)' },
    require: (config, facts) => void (facts.sandbox || requireDomain(config)),
  },
  {
    key: 'createHostedZone',
    question: 'No public hosted zone holds the domain. Create one?',
    why: 'Route 53 must hold the domain for the certificate check and the alias; a new zone needs its name servers set at your registrar.',
    kind: 'yes-no',
    guide: 'no (the longest matching zone is used)',
    stage: 'after',
    facts: 'hostedZone',
    default: yesNo('createHostedZone'),
    when: (_a, facts) => facts.zoneFound === false,
    flag: { flags: '--create-hosted-zone', description: 'create a public Route 53 zone for the domain when none in the account matches' },
  },
  {
    key: 'certificateArn',
    question: 'TLS certificate',
    why: 'The load balancer terminates HTTPS with an ACM certificate covering the domain; a new one is validated through DNS.',
    kind: 'text',
    guide: 'a new ACM certificate, validated by DNS',
    stage: 'after',
    facts: 'certificates',
    default: fixed(UNSET),
    choices: (_a, facts) => [
      { value: UNSET, name: 'request a new one (validated through DNS)' },
      ...(facts.certificates ?? []).map((c) => ({ value: c.arn, name: c.names, description: c.arn })),
    ],
    when: (_a, facts) => (facts.certificates?.length ?? 0) > 0,
    flag: {
      flags: '--certificate-arn <arn>',
      description: 'use this ISSUED ACM certificate (same region, covering the domain) instead of requesting one',
    },
  },
  {
    key: 'sshCidr',
    question: 'Trusted range for SSH (CIDR, empty for none)',
    why: 'Git over SSH on the load balancer and SSH to the bastions are open to this range only; 0.0.0.0/0 is the whole internet.',
    kind: 'text',
    guide: 'none: no SSH from outside the VPC',
    stage: 'after',
    default: fixed(UNSET),
    answeredBy: ['sshFromAnywhere'],
    flag: {
      flags: '--ssh-cidr <cidr>',
      description: 'trusted range for SSH to the load balancer (Git) and the bastions, e.g. 203.0.113.0/24',
    },
  },
  {
    key: 'sshFromAnywhere',
    question: 'Open SSH to the whole internet (0.0.0.0/0 and ::/0)?',
    why: 'Asked when the trusted range typed is 0.0.0.0/0: anyone may then try the bastions and Git over SSH.',
    kind: 'yes-no',
    guide: 'no',
    stage: 'after',
    asked: false,
    default: yesNo('sshFromAnywhere'),
    flag: { flags: '--ssh-from-anywhere', description: 'open SSH to 0.0.0.0/0 and ::/0 (not recommended)' },
  },
  {
    key: 'sshPublicKeyFile',
    question: 'SSH public key',
    why: "The bastions and the GitLab nodes let in this key (the guide's key pairs, as one).",
    kind: 'text',
    guide: 'required on AWS (the sandbox derives one per deployment)',
    stage: 'after',
    facts: 'sshKeys',
    default: (_a, facts) => (facts.sandbox ? UNSET : (facts.sshKeys?.[0] ?? UNSET)),
    answeredBy: ['sshPublicKey'],
    require: (config, facts) => void (facts.sandbox || requireSshPublicKey(config)),
    flag: {
      flags: '--ssh-public-key <file>',
      description: 'your SSH public key for the bastions and instances, e.g. ~/.ssh/id_ed25519.pub (the sandbox generates one)',
    },
  },
  {
    key: 'sshPublicKey',
    question: 'SSH public key (one line)',
    why: 'The key itself, so a saved answers file needs no key file beside it.',
    kind: 'text',
    guide: 'read from sshPublicKeyFile',
    stage: 'after',
    asked: false,
    default: fixed(undefined),
  },
  {
    key: 'gitlab.edition',
    question: 'GitLab edition',
    why: "Enterprise Edition runs free without a license and unlocks paid features later; it is the guide's.",
    kind: 'text',
    guide: GITLAB_DEFAULTS.edition,
    stage: 'after',
    default: fixed(GITLAB_DEFAULTS.edition),
    choices: () => GITLAB_EDITIONS.map((e) => ({ value: e, name: e === 'ee' ? 'ee (Enterprise Edition)' : 'ce (Community Edition)' })),
    flag: { flags: '--gitlab-edition <edition>', description: "GitLab edition: 'ee' (the default) or 'ce'" },
  },
  {
    key: 'gitlab.version',
    question: 'GitLab version',
    why: "The region's official GitLab AMIs offer these releases; the install starts from that image.",
    kind: 'text',
    guide: "the newest the region's official AMIs offer",
    stage: 'after',
    facts: 'gitlabVersions',
    default: fixed(UNSET),
    choices: (_a, facts) => [
      { value: UNSET, name: `the newest${facts.gitlabVersions?.[0] ? ` (${facts.gitlabVersions[0]})` : ''}` },
      ...(facts.gitlabVersions ?? []).map((v) => ({ value: v })),
    ],
    flag: {
      flags: '--gitlab-version <version>',
      description: "GitLab version: 19, 19.5 or 19.5.1 (default: the newest the region's AMIs offer)",
    },
  },
  {
    key: 'gitlab.instanceType',
    question: 'GitLab (Rails) instance type',
    why: 'The base instance and every node of the Auto Scaling group run on it.',
    kind: 'text',
    guide: GITLAB_DEFAULTS.instanceType,
    stage: 'after',
    default: fixed(GITLAB_DEFAULTS.instanceType),
  },
  {
    key: 'gitaly.instanceType',
    question: 'Gitaly instance type',
    why: 'Gitaly holds every repository; its CPU and memory bound Git operations.',
    kind: 'text',
    guide: GITALY_DEFAULTS.instanceType,
    stage: 'after',
    default: fixed(GITALY_DEFAULTS.instanceType),
  },
  {
    key: 'bastion.instanceType',
    question: 'Bastion instance type',
    why: 'The two bastions only forward SSH; the smallest type does.',
    kind: 'text',
    guide: BASTION_DEFAULTS.instanceType,
    stage: 'after',
    default: fixed(BASTION_DEFAULTS.instanceType),
  },
  {
    key: 'database.instanceClass',
    question: 'RDS instance class',
    why: 'PostgreSQL for GitLab; the guide advises against burstable (db.t*) classes.',
    kind: 'text',
    guide: DATABASE_DEFAULTS.instanceClass,
    stage: 'after',
    default: fixed(DATABASE_DEFAULTS.instanceClass),
    flag: {
      flags: '--db-instance-class <class>',
      description: 'RDS instance class of the database (default db.m5.large; db.t* only with database.allowBurstable)',
    },
  },
  {
    key: 'database.allowBurstable',
    question: 'Use a burstable database class anyway?',
    why: 'Its CPU credits run out under load; asked at the plan when a db.t* class is chosen.',
    kind: 'yes-no',
    guide: 'no',
    stage: 'after',
    asked: false,
    default: yesNo('database.allowBurstable'),
  },
  {
    key: 'cache.nodeType',
    question: 'ElastiCache node type',
    why: 'Redis holds sessions, caches and job queues; the guide starts with a medium node.',
    kind: 'text',
    guide: CACHE_DEFAULTS.nodeType,
    stage: 'after',
    default: fixed(CACHE_DEFAULTS.nodeType),
    flag: { flags: '--cache-node-type <type>', description: 'ElastiCache node type (default cache.t3.medium)' },
  },
  {
    key: 'gitaly.volumeSize',
    question: 'Gitaly volume size (GiB, io1)',
    why: 'The repositories live on this volume.',
    kind: 'count',
    guide: `${GITALY_DEFAULTS.volumeSize}`,
    stage: 'after',
    default: fixed(GITALY_DEFAULTS.volumeSize),
  },
  {
    key: 'gitaly.iops',
    question: 'Gitaly volume IOPS',
    why: `Git is disk-bound; io1 allows up to ${IO1_LIMITS.iopsPerGib} IOPS per GiB.`,
    kind: 'count',
    guide: `${GITALY_DEFAULTS.iops}`,
    stage: 'after',
    default: (answers) =>
      Math.max(
        IO1_LIMITS.minIops,
        Math.min(GITALY_DEFAULTS.iops, ((getAnswer(answers, 'gitaly.volumeSize') as number | undefined) ?? 0) * IO1_LIMITS.iopsPerGib),
      ),
  },
  {
    key: 'database.storageType',
    question: 'Database storage type',
    why: "Provisioned IOPS (io1) keeps the database's latency steady under load, as the guide chooses.",
    kind: 'text',
    guide: DATABASE_DEFAULTS.storageType,
    stage: 'after',
    default: fixed(DATABASE_DEFAULTS.storageType),
    choices: () => RDS_STORAGE_TYPES.map((t) => ({ value: t })),
  },
  {
    key: 'database.allocatedStorage',
    question: 'Database storage (GiB)',
    why: 'What PostgreSQL may grow to before you resize it.',
    kind: 'count',
    guide: `${DATABASE_DEFAULTS.allocatedStorage}`,
    stage: 'after',
    default: fixed(DATABASE_DEFAULTS.allocatedStorage),
  },
  {
    key: 'database.iops',
    question: 'Database IOPS',
    why: 'Provisioned IOPS of the database storage (io1 and io2; gp3 from 400 GiB).',
    kind: 'count',
    guide: `${DATABASE_DEFAULTS.iops} (io1, io2)`,
    stage: 'after',
    default: (answers) => {
      const type = getAnswer(answers, 'database.storageType') ?? DATABASE_DEFAULTS.storageType;
      const size = (getAnswer(answers, 'database.allocatedStorage') as number | undefined) ?? DATABASE_DEFAULTS.allocatedStorage;
      if (type === 'gp3') return size >= 400 ? 12_000 : undefined;
      return type === 'io1' || type === 'io2' ? Math.max(DATABASE_DEFAULTS.iops, Math.ceil(size / 2)) : undefined;
    },
    when: (answers) => {
      const type = getAnswer(answers, 'database.storageType') ?? DATABASE_DEFAULTS.storageType;
      const size = (getAnswer(answers, 'database.allocatedStorage') as number | undefined) ?? DATABASE_DEFAULTS.allocatedStorage;
      return type === 'io1' || type === 'io2' || (type === 'gp3' && size >= 400);
    },
  },
  {
    key: 'cache.engine',
    question: 'Cache engine',
    why: 'GitLab recommends ElastiCache for Valkey 7.2 on AWS; Redis OSS 7.1 is the alternative.',
    kind: 'text',
    guide: CACHE_DEFAULTS.engine,
    stage: 'after',
    default: fixed(CACHE_DEFAULTS.engine),
    choices: () => CACHE_ENGINES.map((e) => ({ value: e, name: e === 'valkey' ? 'valkey (Valkey 7.2)' : 'redis (Redis OSS 7.1)' })),
    flag: {
      flags: '--cache-engine <engine>',
      description: "ElastiCache engine: 'valkey' (Valkey 7.2, the default) or 'redis' (Redis OSS 7.1)",
    },
  },
  {
    key: 'cache.replicas',
    question: 'Cache replicas beside the primary',
    why: 'Multi-AZ with automatic failover needs at least one replica, in the other zone.',
    kind: 'count',
    guide: `${CACHE_DEFAULTS.replicas}`,
    stage: 'after',
    default: fixed(CACHE_DEFAULTS.replicas),
    flag: { flags: '--cache-replicas <count>', description: 'ElastiCache replicas beside the primary, 1 to 5 (default 1)' },
  },
  ...(
    [
      ['min', 'Auto Scaling group: minimum nodes', 'The group never runs fewer GitLab nodes than this.'],
      ['desired', 'Auto Scaling group: desired nodes', 'How many GitLab nodes the group starts with.'],
      ['max', 'Auto Scaling group: maximum nodes', 'The scale-up alarm adds nodes up to this many.'],
    ] as const
  ).map(([name, question, why]): AnswerDef => ({
    key: `autoScaling.${name}`,
    question,
    why,
    kind: 'count',
    guide: `${AUTO_SCALING_DEFAULTS[name]}`,
    stage: 'after',
    default: fixed(AUTO_SCALING_DEFAULTS[name]),
  })),
  {
    key: 'autoScaling.scaleUpCpu',
    question: 'Scale up above average CPU (%)',
    why: 'The alarm adds a node when the average CPU stays above this for ten minutes.',
    kind: 'number',
    guide: `${AUTO_SCALING_DEFAULTS.scaleUpCpu}`,
    stage: 'after',
    default: fixed(AUTO_SCALING_DEFAULTS.scaleUpCpu),
  },
  {
    key: 'autoScaling.scaleDownCpu',
    question: 'Scale down below average CPU (%)',
    why: 'The alarm removes a node when the average CPU stays below this for ten minutes.',
    kind: 'number',
    guide: `${AUTO_SCALING_DEFAULTS.scaleDownCpu}`,
    stage: 'after',
    default: fixed(AUTO_SCALING_DEFAULTS.scaleDownCpu),
  },
  {
    key: 'autoScaling.healthCheckGracePeriod',
    question: 'Health check grace period (seconds)',
    why: "A new node runs gitlab-ctl reconfigure before it answers; shorter than that boot, the group replaces nodes in a loop (the guide's 300 s is too short).",
    kind: 'count',
    guide: `${AUTO_SCALING_DEFAULTS.healthCheckGracePeriod}`,
    stage: 'after',
    default: fixed(AUTO_SCALING_DEFAULTS.healthCheckGracePeriod),
  },
  {
    key: 'proxyProtocol',
    question: 'Turn proxy protocol v2 on for the HTTP target group?',
    why: "GitLab then sees clients' addresses instead of the load balancer's, but its NGINX must expect it.",
    kind: 'yes-no',
    guide: 'no',
    stage: 'after',
    default: yesNo('proxyProtocol'),
    flag: { flags: '--proxy-protocol', description: 'turn proxy protocol v2 on for the HTTP target group (GitLab must expect it)' },
  },
  {
    key: 'bucketPrefix',
    question: 'S3 bucket name prefix (empty for gl-<deployment>-<account>)',
    why: 'Bucket names are global across AWS; the account ID in the default keeps them unique.',
    kind: 'text',
    guide: 'gl-<deployment>-<account id>',
    stage: 'after',
    rare: true,
    default: fixed(UNSET),
    flag: { flags: '--bucket-prefix <prefix>', description: 'S3 bucket names become <prefix>-<type> (default gl-<deployment>-<account>)' },
  },
  {
    key: 'vpcCidr',
    question: 'VPC range',
    why: 'Choose one that does not overlap networks you will peer or connect through VPN.',
    kind: 'text',
    guide: GUIDE_NETWORK.vpcCidr,
    stage: 'after',
    rare: true,
    default: fixed(GUIDE_NETWORK.vpcCidr),
  },
  ...(
    [
      ['publicA', 'Public subnet range, first zone'],
      ['privateA', 'Private subnet range, first zone'],
      ['publicB', 'Public subnet range, second zone'],
      ['privateB', 'Private subnet range, second zone'],
    ] as const
  ).map(([name, question]): AnswerDef => ({
    key: `subnetCidrs.${name}`,
    question,
    why: 'A /24 inside the VPC, as the guide lays them out; the four must not overlap.',
    kind: 'text',
    guide: GUIDE_NETWORK.subnetCidrs[name],
    stage: 'after',
    rare: true,
    default: fixed(GUIDE_NETWORK.subnetCidrs[name]),
  })),
  {
    key: 'database.engineVersion',
    question: 'PostgreSQL version (a major for its newest minor, or exact)',
    why: 'GitLab 19 needs PostgreSQL 17; 18.x accepts 16.5 or newer, up to 17.x.',
    kind: 'text',
    guide: DATABASE_DEFAULTS.engineVersion,
    stage: 'after',
    rare: true,
    default: fixed(DATABASE_DEFAULTS.engineVersion),
    flag: {
      flags: '--db-engine-version <version>',
      description: 'PostgreSQL version of the database: a major (17, its newest minor RDS offers) or exact (17.4); default 17',
    },
  },
  {
    key: 'database.parameterGroup',
    question: 'DB parameter group (empty for the engine default)',
    why: 'One of your own must keep quote_all_identifiers off and read committed, as GitLab needs.',
    kind: 'text',
    guide: "the engine's default",
    stage: 'after',
    rare: true,
    default: fixed(UNSET),
  },
  ...(['gitlab', 'gitaly', 'bastion'] as const).map((node): AnswerDef => ({
    key: `${node}.amiId`,
    question: `${node === 'gitlab' ? 'GitLab' : node === 'gitaly' ? 'Gitaly' : 'Bastion'} AMI ID (empty to look it up)`,
    why: node === 'gitlab' ? 'A copy of the official GitLab AMI of the same release.' : 'Ubuntu 24.04 from Canonical by default.',
    kind: 'text',
    guide: node === 'gitlab' ? 'the official GitLab AMI' : "Ubuntu 24.04 (Canonical's SSM parameter)",
    stage: 'after',
    rare: true,
    default: fixed(UNSET),
  })),
];

export function answerFor(key: string): AnswerDef {
  const def = ANSWERS.find((a) => a.key === key);
  if (!def) throw new Error(`no answer '${key}' in ANSWERS`);
  return def;
}

export function getAnswer(answers: ConfigFile, key: string): unknown {
  let value: unknown = answers;
  for (const part of key.split('.')) value = isRecord(value) ? value[part] : undefined;
  return value;
}

/** The answers with `key` set to `value` (or unset when undefined); the input is not changed. */
export function setAnswer(answers: ConfigFile, key: string, value: unknown): ConfigFile {
  const [head, ...rest] = key.split('.');
  const copy: Record<string, unknown> = { ...answers };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head!];
    else copy[head!] = value;
  } else {
    copy[head!] = setAnswer((isRecord(copy[head!]) ? copy[head!] : {}) as ConfigFile, rest.join('.'), value);
  }
  return copy as ConfigFile;
}

/** Layers of answers, later ones winning key by key (a flag overrides one cache answer, not the file's whole cache). */
export function mergeAnswers(...layers: Array<ConfigFile | undefined>): ConfigFile {
  let merged: ConfigFile = {};
  for (const layer of layers) {
    for (const key of leafKeys(layer ?? {})) merged = setAnswer(merged, key, getAnswer(layer!, key));
  }
  return merged;
}

function leafKeys(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    v === undefined ? [] : isRecord(v) ? leafKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

/**
 * Whether the answers hold this one (or one that answers it). `null` is an answer too: "not set,
 * on purpose" (no SSH range, request a certificate), as a saved answers file says it, so the
 * wizard does not ask it again.
 */
export function isAnswered(answers: ConfigFile, def: AnswerDef): boolean {
  return [def.key, ...(def.answeredBy ?? [])].some((key) => getAnswer(answers, key) !== undefined);
}

/** The answers without their `null`s ("not set"), as the configuration builder takes them. */
export function concrete(answers: ConfigFile): ConfigFile {
  let kept: ConfigFile = {};
  for (const key of leafKeys(answers)) {
    const value = getAnswer(answers, key);
    if (value !== null) kept = setAnswer(kept, key, value);
  }
  return kept;
}

/** The keys of ANSWERS: where a config file may say `null`. */
export const ANSWER_KEYS: ReadonlySet<string> = new Set(ANSWERS.map((a) => a.key));

/** An answer as the wizard offers it for typing. */
export function answerText(def: AnswerDef, value: unknown): string {
  if (value === undefined) return UNSET;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** A typed answer as the config file holds it, or why it cannot be one. */
export function parseAnswer(def: AnswerDef, text: string): { value: unknown } | { problem: string } {
  const trimmed = text.trim();
  switch (def.kind) {
    case 'count':
      return /^\d+$/.test(trimmed) ? { value: Number(trimmed) } : { problem: `'${text}' is not a whole number` };
    case 'number':
      return /^\d+(\.\d+)?$/.test(trimmed) ? { value: Number(trimmed) } : { problem: `'${text}' is not a number` };
    case 'zones': {
      const zones = trimmed.split(/[\s,]+/).filter(Boolean);
      return zones.length === 2 ? { value: zones } : { problem: 'name two Availability Zones, separated by a comma' };
    }
    case 'yes-no':
      return { value: trimmed === 'true' };
    default:
      return { value: trimmed === UNSET ? undefined : trimmed };
  }
}

/** What the question's default would be, for every answer not given yet, in ANSWERS' order. */
export function withDefaults(answers: ConfigFile, facts: Facts): ConfigFile {
  let filled = answers;
  for (const def of ANSWERS) {
    if (def.asked === false || isAnswered(filled, def)) continue;
    const value = def.default(filled, facts);
    if (value !== undefined && value !== UNSET) filled = setAnswer(filled, def.key, value);
  }
  return filled;
}

/**
 * The configuration these answers make: the same builder a --config file goes through, so the
 * wizard, the file and the flags cannot disagree. Throws the ConfigError the builder throws. The
 * key is read from its file here; the sandbox derives one per deployment when none is given.
 */
export function configFrom(answers: ConfigFile, facts: Facts): InstallConfig {
  const { deployment = facts.deployment, region = '', ...file } = concrete(answers);
  const material =
    file.sshPublicKeyFile !== undefined
      ? readPublicKeyFileSync(file.sshPublicKeyFile)
      : (file.sshPublicKey ?? (facts.sandbox ? sandboxPublicKey(deployment) : undefined));
  return buildInstallConfig({
    deployment,
    region,
    file,
    sandbox: facts.sandbox,
    ...(material !== undefined ? { sshPublicKey: material } : {}),
  });
}

/**
 * Why `value` for `def` cannot stand with the answers so far (the later ones at their defaults),
 * or undefined when it can: the configuration is built with it and the builder's refusal reported.
 */
export function answerProblem(def: AnswerDef, value: unknown, answers: ConfigFile, facts: Facts): string | undefined {
  if (def.key === 'region' && !value) return 'no AWS region given: name one, like us-west-2 (or set AWS_REGION)';
  try {
    const config = configFrom(withDefaults(setAnswer(answers, def.key, value), facts), facts);
    // Only where the PostgreSQL is typed: judged at any other answer, a file's PostgreSQL would refuse
    // every later one (and --yes's "newest"); preflight refuses that case in its own words.
    const newest = def.key === 'database.engineVersion' ? newestReleaseProblem(config, facts) : undefined;
    if (newest) return newest;
    try {
      def.require?.(config, facts);
    } catch (err) {
      // A missing answer: say how to give it (a --yes refusal is read where no prompt is).
      if (err instanceof ConfigError && err.hint) return `${err.message}; ${err.hint.replace(/; nothing was created$/, '')}`;
      throw err;
    }
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

/**
 * At the prompt the wizard knows what "the newest" GitLab is (the region's official AMIs, looked
 * up for the version question), which the config builder cannot know offline: with the version
 * left to the newest, the PostgreSQL answer is judged against that release, as preflight will.
 */
function newestReleaseProblem(config: InstallConfig, facts: Facts): string | undefined {
  const newest = facts.gitlabVersions?.[0];
  if (config.gitlab.version !== undefined || newest === undefined) return undefined;
  const mismatch = postgresMismatch(config.database.engineVersion, newest, GITLAB_MAJORS.map(Number), {
    gitlab: "the newest the region's official AMIs offer",
  });
  return mismatch?.problem;
}

/**
 * A configuration in config-file form, every answer, deployment and region included, `null` for
 * those not set: what --save-config writes and what a plan document's `config` reads back as
 * (eksctl's dry run), so `--config` of either asks nothing.
 */
export function completeConfigFile(config: InstallConfig): ConfigFile {
  const set = configFileOf(config);
  let complete: ConfigFile = {};
  for (const def of ANSWERS) {
    const value = getAnswer(set, def.key) ?? (def.kind === 'yes-no' ? false : null);
    complete = setAnswer(complete, def.key, value);
  }
  return complete;
}

/** A configuration's answers in config-file form (those it sets). */
export function configFileOf(config: InstallConfig): ConfigFile {
  const { availabilityZones, database, ...rest } = config;
  const [first, second] = availabilityZones;
  // allowBurstable false is the default and says nothing; true is the operator's explicit yes.
  const { allowBurstable, ...db } = database;
  return {
    ...rest,
    ...(first && second ? { availabilityZones: [first, second] } : {}),
    database: { ...db, ...(allowBurstable ? { allowBurstable } : {}) },
  } as ConfigFile;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
