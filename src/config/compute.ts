import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * The guide's compute answers: "Setting up Bastion Hosts", "Install GitLab and create custom AMI"
 * and "Deploy GitLab inside an auto scaling group". The version is absent by default: the newest
 * release the region's official GitLab AMIs offer, resolved once by the machine-images step.
 */
export const GITLAB_EDITIONS = ['ee', 'ce'] as const;
export type GitlabEdition = (typeof GITLAB_EDITIONS)[number];

/** The GitLab majors this installer renders gitlab.rb for. */
export const GITLAB_MAJORS = ['18', '19'] as const;

export const GITLAB_DEFAULTS = { edition: 'ee', instanceType: 'c5.2xlarge' } as const;
/** Gitaly's root volume: the guide's io1, 20 GiB at 1000 IOPS (io1 allows 50 IOPS per GiB). */
export const GITALY_DEFAULTS = { instanceType: 'm5.xlarge', volumeSize: 20, iops: 1000 } as const;
export const BASTION_DEFAULTS = { instanceType: 't3.micro' } as const;
/**
 * The guide's group: 2 / 2 / 4, scale up at 60 % average CPU, down at 45 %. The guide's grace
 * period is 300 s, but a node launched from the baked image runs `gitlab-ctl reconfigure` at boot
 * before it answers /-/readiness, which takes minutes: with ELB health checks a grace period
 * shorter than that boot marks healthy-to-be nodes unhealthy and replaces them in a loop. 600 s
 * covers the boot with room to spare.
 */
export const AUTO_SCALING_DEFAULTS = {
  min: 2,
  desired: 2,
  max: 4,
  healthCheckGracePeriod: 600,
  scaleUpCpu: 60,
  scaleDownCpu: 45,
} as const;

/** io1 as EC2 takes it: 4-16384 GiB, 100-64000 IOPS, at most 50 IOPS per GiB. */
export const IO1_LIMITS = { minSize: 4, maxSize: 16_384, minIops: 100, maxIops: 64_000, iopsPerGib: 50 } as const;

const instanceType = z.string().optional();
const amiId = z.string().optional();

/** The compute keys of a --config file. */
export const computeFileSchema = {
  /** A file holding the operator's SSH public key (OpenSSH format); the sandbox generates one. */
  sshPublicKeyFile: z.string().optional(),
  gitlab: z.object({ edition: z.string().optional(), version: z.string().optional(), instanceType, amiId }).strict().optional(),
  gitaly: z.object({ instanceType, volumeSize: z.number().optional(), iops: z.number().optional(), amiId }).strict().optional(),
  bastion: z.object({ instanceType, amiId }).strict().optional(),
  autoScaling: z
    .object({
      min: z.number().optional(),
      desired: z.number().optional(),
      max: z.number().optional(),
      healthCheckGracePeriod: z.number().optional(),
      scaleUpCpu: z.number().optional(),
      scaleDownCpu: z.number().optional(),
    })
    .strict()
    .optional(),
};
type ComputeFile = z.infer<ReturnType<typeof z.object<typeof computeFileSchema>>>;

/** The compute answers as the state file keeps them. Older state files (before compute) get the defaults. */
export const computeConfigSchema = {
  /** The operator's public key material (not a secret; the state keeps it so a resume needs no file). */
  sshPublicKey: z.string().optional(),
  gitlab: z
    .object({
      edition: z.enum(GITLAB_EDITIONS),
      /** `19.5` (its newest patch), `19.5.1`, or absent: the newest the region's official AMIs offer. */
      version: z.string().optional(),
      instanceType: z.string(),
      /** An AMI to use instead of the official GitLab AMI lookup (it must be a GitLab image of that version). */
      amiId: z.string().optional(),
    })
    .strict()
    .default(() => ({ ...GITLAB_DEFAULTS })),
  gitaly: z
    .object({ instanceType: z.string(), volumeSize: z.number().int(), iops: z.number().int(), amiId: z.string().optional() })
    .strict()
    .default(() => ({ ...GITALY_DEFAULTS })),
  bastion: z
    .object({ instanceType: z.string(), amiId: z.string().optional() })
    .strict()
    .default(() => ({ ...BASTION_DEFAULTS })),
  autoScaling: z
    .object({
      min: z.number().int(),
      desired: z.number().int(),
      max: z.number().int(),
      healthCheckGracePeriod: z.number().int(),
      scaleUpCpu: z.number(),
      scaleDownCpu: z.number(),
    })
    .strict()
    .default(() => ({ ...AUTO_SCALING_DEFAULTS })),
};
export type ComputeConfig = z.output<ReturnType<typeof z.object<typeof computeConfigSchema>>>;

/** EC2's instance type names: family, optional generation letters, a size (c5.2xlarge, t3.micro, m7i-flex.large). */
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const AMI_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;
/** 19, 19.5 or 19.5.1 of a supported major. */
const GITLAB_VERSION = /^(\d+)(\.\d+){0,2}$/;
/** ssh-ed25519 / ssh-rsa / ecdsa-sha2-nistp256 ... followed by base64, an optional comment. */
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

/** The file's (and flags') compute answers over the guide's defaults, checked as EC2 and GitLab would. */
export function computeAnswers(file: ComputeFile & { sshPublicKey?: string }): ComputeConfig {
  const gitlab = {
    edition: (file.gitlab?.edition ?? GITLAB_DEFAULTS.edition) as GitlabEdition,
    instanceType: file.gitlab?.instanceType ?? GITLAB_DEFAULTS.instanceType,
    ...(file.gitlab?.version !== undefined ? { version: file.gitlab.version } : {}),
    ...(file.gitlab?.amiId !== undefined ? { amiId: file.gitlab.amiId } : {}),
  };
  const gitaly = {
    instanceType: file.gitaly?.instanceType ?? GITALY_DEFAULTS.instanceType,
    volumeSize: file.gitaly?.volumeSize ?? GITALY_DEFAULTS.volumeSize,
    iops: file.gitaly?.iops ?? GITALY_DEFAULTS.iops,
    ...(file.gitaly?.amiId !== undefined ? { amiId: file.gitaly.amiId } : {}),
  };
  const bastion = {
    instanceType: file.bastion?.instanceType ?? BASTION_DEFAULTS.instanceType,
    ...(file.bastion?.amiId !== undefined ? { amiId: file.bastion.amiId } : {}),
  };
  const autoScaling = { ...AUTO_SCALING_DEFAULTS, ...definedOnly(file.autoScaling ?? {}) };
  const config: ComputeConfig = {
    ...(file.sshPublicKey !== undefined ? { sshPublicKey: file.sshPublicKey.trim() } : {}),
    gitlab,
    gitaly,
    bastion,
    autoScaling,
  };
  checkCompute(config);
  return config;
}

export function checkCompute(config: ComputeConfig): void {
  if (config.sshPublicKey !== undefined && !SSH_PUBLIC_KEY.test(config.sshPublicKey)) {
    throw new ConfigError(
      'the SSH public key is not an OpenSSH public key (one line: ssh-ed25519 AAAA... comment)',
      'pass the .pub file, e.g. --ssh-public-key ~/.ssh/id_ed25519.pub, never the private key; nothing was created',
    );
  }
  if (!(GITLAB_EDITIONS as readonly string[]).includes(config.gitlab.edition)) {
    throw new ConfigError(
      `gitlab.edition '${config.gitlab.edition}' is not one of ${GITLAB_EDITIONS.join(', ')}`,
      "use 'ee' (the guide's, free without a license) or 'ce'; nothing was created",
    );
  }
  const version = config.gitlab.version;
  if (version !== undefined) {
    const match = GITLAB_VERSION.exec(version);
    if (!match || !(GITLAB_MAJORS as readonly string[]).includes(match[1]!)) {
      throw new ConfigError(
        `gitlab.version '${version}' is not a GitLab version this installer supports`,
        `give ${GITLAB_MAJORS.map((m) => `${m}.x`).join(' or ')} (e.g. 19.5 for its newest patch, or 19.5.1), or leave it out for the newest; nothing was created`,
      );
    }
  }
  for (const [key, type] of [
    ['gitlab.instanceType', config.gitlab.instanceType],
    ['gitaly.instanceType', config.gitaly.instanceType],
    ['bastion.instanceType', config.bastion.instanceType],
  ] as const) {
    if (!INSTANCE_TYPE.test(type)) {
      throw new ConfigError(
        `${key} '${type}' is not an EC2 instance type`,
        `name one like c5.2xlarge or m5.xlarge in ${key}; nothing was created`,
      );
    }
  }
  for (const [key, id] of [
    ['gitlab.amiId', config.gitlab.amiId],
    ['gitaly.amiId', config.gitaly.amiId],
    ['bastion.amiId', config.bastion.amiId],
  ] as const) {
    if (id !== undefined && !AMI_ID.test(id)) {
      throw new ConfigError(
        `${key} '${id}' is not an AMI ID`,
        `give one like ami-0123456789abcdef0, or leave ${key} out to look it up; nothing was created`,
      );
    }
  }
  const { volumeSize, iops } = config.gitaly;
  const io1 = IO1_LIMITS;
  if (!Number.isInteger(volumeSize) || volumeSize < io1.minSize || volumeSize > io1.maxSize) {
    throw new ConfigError(
      `gitaly.volumeSize ${volumeSize} GiB is out of range: io1 volumes are ${io1.minSize} to ${io1.maxSize} GiB`,
      'set gitaly.volumeSize in --config (the guide: 20); nothing was created',
    );
  }
  if (!Number.isInteger(iops) || iops < io1.minIops || iops > io1.maxIops || iops > volumeSize * io1.iopsPerGib) {
    throw new ConfigError(
      `gitaly.iops ${iops} is out of range for ${volumeSize} GiB of io1: ${io1.minIops} to ${Math.min(io1.maxIops, volumeSize * io1.iopsPerGib)} (at most ${io1.iopsPerGib} per GiB)`,
      'set gitaly.iops or a larger gitaly.volumeSize in --config (the guide: 20 GiB at 1000 IOPS); nothing was created',
    );
  }
  const group = config.autoScaling;
  for (const key of ['min', 'desired', 'max', 'healthCheckGracePeriod'] as const) {
    if (!Number.isInteger(group[key]) || group[key] < 0) {
      throw new ConfigError(
        `autoScaling.${key} ${group[key]} is not a whole number of 0 or more`,
        `fix autoScaling.${key} in --config; nothing was created`,
      );
    }
  }
  if (group.min < 1 || group.min > group.desired || group.desired > group.max) {
    throw new ConfigError(
      `autoScaling sizes min ${group.min}, desired ${group.desired}, max ${group.max} are not in order: 1 <= min <= desired <= max`,
      'fix autoScaling.min, .desired or .max in --config (the guide: 2, 2, 4); nothing was created',
    );
  }
  if (!(group.scaleDownCpu > 0 && group.scaleDownCpu < group.scaleUpCpu && group.scaleUpCpu <= 100)) {
    throw new ConfigError(
      `autoScaling CPU thresholds down ${group.scaleDownCpu}% and up ${group.scaleUpCpu}% must satisfy 0 < down < up <= 100`,
      'fix autoScaling.scaleDownCpu or .scaleUpCpu in --config (the guide: 45 and 60); nothing was created',
    );
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The operator's public key an install imports: refused (exit 2, before anything) when none was given. */
export function requireSshPublicKey(config: { sshPublicKey?: string | undefined }): string {
  if (config.sshPublicKey) return config.sshPublicKey;
  throw new ConfigError(
    "no SSH public key given: the bastions and the GitLab nodes are reached with it (the guide's key pairs)",
    'pass --ssh-public-key ~/.ssh/id_ed25519.pub (or "sshPublicKeyFile" in --config; ssh-keygen -t ed25519 makes one); nothing was created',
  );
}
