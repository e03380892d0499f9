import type { ServiceName } from './services.js';

/**
 * One place that knows how AWS says things went wrong. EC2 errors are never modelled in SDK v3,
 * so `name` is the wire code (InvalidVpcID.NotFound); other services use the class name and
 * carry the wire code in `Code`. Classify on both.
 */
export type AwsErrorKind = 'already-exists' | 'not-found' | 'dependency' | 'throttled' | 'access-denied' | 'quota' | 'other';

const PATTERNS: Array<[AwsErrorKind, RegExp]> = [
  ['throttled', /Throttl|RequestLimitExceeded|SlowDown|TooManyRequests|RequestThrottled|PriorRequestNotComplete/],
  [
    'access-denied',
    /AccessDenied|AuthFailure|^Forbidden$|UnauthorizedOperation|NotAuthorized|InvalidClientTokenId|ExpiredToken|UnrecognizedClient/,
  ],
  ['not-found', /NotFound|NoSuch|DoesNotExist/],
  ['already-exists', /AlreadyExists|Duplicate|AlreadyOwnedByYou|EntityAlreadyExists/],
  [
    'dependency',
    /DependencyViolation|BucketNotEmpty|InUse|ResourceInUse|DeleteConflict|InvalidReplicationGroupState|ScalingActivityInProgress/,
  ],
  ['quota', /LimitExceeded|QuotaExceeded|InsufficientCapacity|TooMany/],
];

export function errorCode(err: unknown): string {
  if (!err || typeof err !== 'object') return '';
  const e = err as { name?: unknown; Code?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  if (name && name !== 'Error' && !name.endsWith('ServiceException')) return name;
  return typeof e.Code === 'string' ? e.Code : name;
}

export function classify(err: unknown): AwsErrorKind {
  const code = errorCode(err);
  // The bucket name belongs to another account: not ours to adopt, whatever the name says.
  if (code === 'BucketAlreadyExists') return 'other';
  for (const [kind, pattern] of PATTERNS) if (pattern.test(code)) return kind;
  return 'other';
}

export function isKind(err: unknown, ...kinds: AwsErrorKind[]): boolean {
  return kinds.includes(classify(err));
}

/** What to tell the operator, for the kinds they can do something about (explain's fix). */
export function remedy(err: unknown): string | undefined {
  return explain(err).fix;
}

/**
 * `action`'s result, or undefined when AWS says the thing is not there: for lookups that may
 * find nothing, and for deletes where "already gone" is success.
 */
export async function unlessNotFound<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (err) {
    if (classify(err) === 'not-found') return undefined;
    throw err;
  }
}

/** An AWS error as the operator should read it: what went wrong and what to do about it. */
export interface Explanation {
  /** One line, in the operator's words (the missing permission, the quota, the expired session). */
  message: string;
  /** What to do; absent when there is nothing better than "run it again". */
  fix?: string;
  /** AWS's own code and message, request ID and HTTP status, for --verbose. */
  raw: string;
}

/** The call an error came from, attached by the clients' one middleware (src/aws/clients.ts). */
export interface FailedCall {
  service: ServiceName;
  /** The SDK command without `Command`: `CreateVpc`. */
  operation: string;
  region: string;
}

const CALL = Symbol.for('gitlab-aws.failed-call');

/** Marks `err` with the call it came from, once (the innermost call knows best); not enumerable, so no JSON shows it. */
export function markCall(err: unknown, call: FailedCall): void {
  if (err && typeof err === 'object' && !(CALL in err)) Object.defineProperty(err, CALL, { value: call, configurable: true });
}

export function failedCall(err: unknown): FailedCall | undefined {
  return err && typeof err === 'object' ? ((err as Record<symbol, FailedCall | undefined>)[CALL] ?? undefined) : undefined;
}

export const PERMISSIONS_SECTION = 'see "Permissions" in the README for the policy the guide needs';

/**
 * THE translation of an AWS error for the operator: AccessDenied names the missing action, a
 * quota names the quota and how to raise it, an expired or missing session says how to log in
 * again (naming `profile`, the --profile in use, or AWS_PROFILE). Anything that is not AWS's
 * (a step's own error) keeps its message.
 */
export function explain(err: unknown, context: { profile?: string | undefined } = {}): Explanation {
  if (!fromAws(err)) {
    const own = err instanceof Error ? err.message : String(err);
    return { message: own, raw: own };
  }
  const raw = rawLine(err);
  const text = firstLine(err);
  const profile = context.profile ?? process.env.AWS_PROFILE;
  const translated = sessionProblem(err, text, profile) ??
    accessDenied(err, text) ??
    quotaReached(err, text) ??
    otherKinds(err, text) ?? { message: text };
  return { ...translated, raw };
}

type Translation = Omit<Explanation, 'raw'>;

/** AWS's answer (an SDK service error), the SDK's credential chain, or the network on the way to AWS. */
function fromAws(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number }; $fault?: unknown; code?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  // The SDK's retry layer gives any error $metadata (its attempts); only AWS's answers carry a status.
  if (e.$metadata?.httpStatusCode !== undefined || e.$fault !== undefined || classify(err) !== 'other') return true;
  const code = errorCode(err);
  return (
    DENIED.test(code) ||
    EXPIRED.test(code) ||
    PROVIDER.test(code) ||
    (failedCall(err) !== undefined && (NETWORK.test(code) || (typeof e.code === 'string' && NETWORK.test(e.code))))
  );
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim() || errorCode(err) || 'unknown error';
}

/** `AccessDenied: User ... (IAM CreateRole, request 1a2b..., HTTP 403)`: everything AWS said. */
function rawLine(err: unknown): string {
  const code = errorCode(err);
  const text = err instanceof Error ? err.message : String(err);
  const meta = (err as { $metadata?: { requestId?: string; httpStatusCode?: number } } | undefined)?.$metadata;
  const call = failedCall(err);
  const where = [
    ...(call ? [`${call.service} ${call.operation} in ${call.region}`] : []),
    ...(meta?.requestId ? [`request ${meta.requestId}`] : []),
    ...(meta?.httpStatusCode ? [`HTTP ${meta.httpStatusCode}`] : []),
  ];
  return `${code && code !== 'Error' ? `${code}: ` : ''}${text.replace(/\s*\n\s*/g, ' ')}${where.length ? ` (${where.join(', ')})` : ''}`;
}

// ---- expired or missing credentials -------------------------------------------------------

const EXPIRED = /^(ExpiredToken|ExpiredTokenException|RequestExpired|TokenRefreshRequired)$/;
const NOT_RECOGNISED = /^(InvalidClientTokenId|UnrecognizedClientException|AuthFailure|SignatureDoesNotMatch|InvalidAccessKeyId)$/;
const PROVIDER = /^(CredentialsProviderError|TokenProviderError)$/;

function sessionProblem(err: unknown, text: string, profile: string | undefined): Translation | undefined {
  const code = errorCode(err);
  const sso = /\bSSO\b/i.test(text);
  const expired = EXPIRED.test(code) || (PROVIDER.test(code) && /expired|refresh/i.test(text));
  if (!expired && !NOT_RECOGNISED.test(code) && !PROVIDER.test(code)) return undefined;
  const named = profile ? ` (profile ${profile})` : '';
  const message = expired
    ? `the AWS session${named} has expired${sso ? ' (SSO)' : ''}`
    : PROVIDER.test(code)
      ? `no usable AWS credentials${named}: ${text}`
      : `AWS does not accept the credentials${named} (${code})`;
  const fix = profile
    ? `log in again: aws sso login --profile ${profile} (for keys: aws configure --profile ${profile}, or refresh them), then run the command again`
    : 'log in again: aws sso login --profile <your profile> and pass --profile, or aws configure / refresh AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then run the command again';
  return { message, fix };
}

// ---- missing permissions ------------------------------------------------------------------

const DENIED = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|AuthorizationError|Forbidden|NotAuthorized|UnauthorizedAccess)$/;

/** The IAM action prefix of each service, where it is not the service's own name. */
const ACTION_PREFIX: Partial<Record<ServiceName, string>> = { elbv2: 'elasticloadbalancing', tagging: 'tag' };

/** S3's actions that are not named after the operation (S3 never says which it refused). */
const S3_ACTIONS: Record<string, string> = {
  HeadBucket: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  DeleteObjects: 's3:DeleteObject',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutBucketTagging: 's3:PutBucketTagging',
  GetBucketTagging: 's3:GetBucketTagging',
};

/** The IAM action a call needs (`ec2:CreateVpc`, `s3:PutEncryptionConfiguration`). */
export function actionOf(call: Pick<FailedCall, 'service' | 'operation'>): string {
  if (call.service === 's3' && S3_ACTIONS[call.operation]) return S3_ACTIONS[call.operation]!;
  return `${ACTION_PREFIX[call.service] ?? call.service}:${call.operation}`;
}

function accessDenied(err: unknown, text: string): Translation | undefined {
  if (!DENIED.test(errorCode(err))) return undefined;
  const whole = err instanceof Error ? err.message : String(err);
  // IAM, STS, EC2 (newer messages), RDS, ElastiCache, ELB...: "User: arn:... is not authorized to perform: ec2:CreateVpc on resource: arn:..."
  const named =
    /(?:User|Principal):?\s+(\S+)\s+is not authorized to perform:?\s+([\w-]+:[\w*]+)(?:\s+on resource:?\s+(\S+?)(?:\s|$))?/i.exec(whole);
  const call = failedCall(err);
  const action = named?.[2] ?? (call ? actionOf(call) : undefined);
  const who = named?.[1] ? ` for ${named[1]}` : '';
  const on = named?.[3] ? ` on ${named[3].replace(/[.,]$/, '')}` : '';
  const deny = /explicit deny in an? ([\w -]+?policy|permissions boundary)/i.exec(whole)?.[1];
  const encoded = /Encoded authorization failure message:\s*(\S+)/i.exec(whole)?.[1];
  const message = action ? `missing permission ${action}${who}${on}` : `AWS denied the request: ${text}`;
  const fix = [
    deny
      ? `an explicit deny in a ${deny} blocks it: ask your AWS administrator (${PERMISSIONS_SECTION})`
      : `grant ${action ?? 'the permission'} to the identity in use, or use --profile with one that has it (${PERMISSIONS_SECTION})`,
    ...(encoded ? ["AWS's reason in full: aws sts decode-authorization-message --encoded-message <the message --verbose shows>"] : []),
  ].join('; ');
  return { message, fix };
}

// ---- quotas -------------------------------------------------------------------------------

/** A quota as Service Quotas names it; `quota` absent when Service Quotas gives it no fixed code we know. */
export interface QuotaRef {
  service: string;
  quota?: string;
  name: string;
}

/** The quotas an install uses most, by name: preflight checks them, errors name them. */
export const INSTALL_QUOTAS = {
  elasticIps: { service: 'ec2', quota: 'L-0263D0A3', name: 'EC2-VPC Elastic IPs' },
  vpcs: { service: 'vpc', quota: 'L-F678F1CE', name: 'VPCs per Region' },
  vcpus: { service: 'ec2', quota: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' },
} as const satisfies Record<string, QuotaRef>;

/** Error code (and, where one code serves several, a pattern of AWS's message) -> the quota reached. */
const QUOTAS: Array<{ code: RegExp; text?: RegExp; quota: QuotaRef }> = [
  { code: /^AddressLimitExceeded$/, quota: INSTALL_QUOTAS.elasticIps },
  { code: /^VpcLimitExceeded$/, quota: INSTALL_QUOTAS.vpcs },
  { code: /^NatGatewayLimitExceeded$/, quota: { service: 'vpc', quota: 'L-FE5A380F', name: 'NAT gateways per Availability Zone' } },
  { code: /^InternetGatewayLimitExceeded$/, quota: { service: 'vpc', quota: 'L-A4707A72', name: 'Internet gateways per Region' } },
  { code: /^SubnetLimitExceeded$/, quota: { service: 'vpc', quota: 'L-407747CB', name: 'Subnets per VPC' } },
  { code: /^RouteTableLimitExceeded$/, quota: { service: 'vpc', quota: 'L-589F43AA', name: 'Route tables per VPC' } },
  { code: /^SecurityGroupLimitExceeded$/, quota: { service: 'vpc', quota: 'L-E79EC296', name: 'VPC security groups per Region' } },
  {
    code: /^RulesPerSecurityGroupLimitExceeded$/,
    quota: { service: 'vpc', quota: 'L-0EA8095F', name: 'Inbound or outbound rules per security group' },
  },
  { code: /^(VcpuLimitExceeded|InstanceLimitExceeded)$/, quota: INSTALL_QUOTAS.vcpus },
  { code: /^DBInstanceQuotaExceeded(Fault)?$/, quota: { service: 'rds', quota: 'L-7B6409FD', name: 'DB instances' } },
  { code: /^(NodeQuotaForCustomerExceeded)(Fault)?$/, quota: { service: 'elasticache', name: 'Nodes per Region' } },
  { code: /^(NodeQuotaForClusterExceeded)(Fault)?$/, quota: { service: 'elasticache', name: 'Nodes per cluster' } },
  { code: /^TooManyBuckets$/, quota: { service: 's3', quota: 'L-DC2B2D3D', name: 'General purpose buckets' } },
  {
    code: /^TooManyLoadBalancers(Exception)?$/,
    quota: { service: 'elasticloadbalancing', quota: 'L-69A177A2', name: 'Network Load Balancers per Region' },
  },
  {
    code: /^TooManyTargetGroups(Exception)?$/,
    quota: { service: 'elasticloadbalancing', quota: 'L-B22855CB', name: 'Target Groups per Region' },
  },
  { code: /^TooManyHostedZones$/, quota: { service: 'route53', quota: 'L-4EA4796A', name: 'Hosted zones' } },
  {
    code: /^LimitExceeded(Exception)?$/,
    text: /RolesPerAccount/i,
    quota: { service: 'iam', quota: 'L-FE177D64', name: 'Roles per account' },
  },
  {
    code: /^LimitExceeded(Exception)?$/,
    text: /InstanceProfilesPerAccount/i,
    quota: { service: 'iam', quota: 'L-6E65F664', name: 'Instance profiles per account' },
  },
  {
    code: /^LimitExceeded(Exception)?$/,
    text: /PoliciesPerAccount/i,
    quota: { service: 'iam', quota: 'L-E95E4862', name: 'Customer managed policies per account' },
  },
  {
    code: /^LimitExceeded(Fault|Exception)?$/,
    text: /Auto Scaling group/i,
    quota: { service: 'autoscaling', quota: 'L-CDE20ADC', name: 'Auto Scaling groups per region' },
  },
];

/** The quota an error says was reached, when it is one we can name. */
export function quotaOf(err: unknown): QuotaRef | undefined {
  const code = errorCode(err);
  const text = err instanceof Error ? err.message : String(err);
  return QUOTAS.find((q) => q.code.test(code) && (!q.text || q.text.test(text)))?.quota;
}

/** Where and how to raise `quota` in `region`: the Service Quotas console and the CLI line. */
export function raiseQuota(quota: QuotaRef, region: string | undefined): string {
  const host = region ? `${region}.console.aws.amazon.com` : 'console.aws.amazon.com';
  if (!quota.quota) {
    return (
      `raise "${quota.name}" in the Service Quotas console: https://${host}/servicequotas/home/services/${quota.service}/quotas ` +
      `(or find its code: aws service-quotas list-service-quotas --service-code ${quota.service}), then resume`
    );
  }
  return (
    `raise it in the Service Quotas console: https://${host}/servicequotas/home/services/${quota.service}/quotas/${quota.quota} ` +
    `or: aws service-quotas request-service-quota-increase --service-code ${quota.service} --quota-code ${quota.quota} --desired-value <N>` +
    `${region ? ` --region ${region}` : ''}; then resume`
  );
}

function quotaReached(err: unknown, text: string): Translation | undefined {
  const code = errorCode(err);
  if (/InsufficientInstanceCapacity|InsufficientCacheClusterCapacity|InsufficientDBInstanceCapacity|InsufficientCapacity/.test(code)) {
    return { message: `AWS has no capacity for this now: ${text}`, fix: 'try again later, or choose another instance type or zone' };
  }
  const region = failedCall(err)?.region;
  const quota = quotaOf(err);
  if (quota)
    return { message: `quota reached: ${quota.name}${quota.quota ? ` (${quota.quota})` : ''}: ${text}`, fix: raiseQuota(quota, region) };
  if (classify(err) !== 'quota') return undefined;
  return {
    message: `an AWS service quota is reached: ${text}`,
    fix: `raise it in the Service Quotas console (https://${region ? `${region}.` : ''}console.aws.amazon.com/servicequotas/home) or free some, then resume`,
  };
}

// ---- throttling, AWS's own failures, the network -------------------------------------------

const NETWORK = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|TimeoutError|RequestTimeout)$/;

function otherKinds(err: unknown, text: string): Translation | undefined {
  const e = err as { code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const call = failedCall(err);
  if (classify(err) === 'throttled') {
    return { message: `AWS kept throttling: ${text}`, fix: 'AWS kept throttling after all retries; wait a minute and resume' };
  }
  const network = (typeof e?.code === 'string' && NETWORK.test(e.code)) || NETWORK.test(errorCode(err));
  if (network && call) {
    return {
      message: `cannot reach AWS (${call.service} in ${call.region}): ${text}`,
      fix: 'check the network connection (and AWS_ENDPOINT_URL or a proxy, if set), then run the command again',
    };
  }
  if (e?.$fault === 'server' || (e?.$metadata?.httpStatusCode ?? 0) >= 500) {
    return {
      message: `AWS failed on its side: ${text}`,
      fix: 'AWS answered with a server error after all retries; wait a few minutes and resume',
    };
  }
  return undefined;
}
