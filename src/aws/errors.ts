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

/** What to tell the operator, for the kinds they can do something about. */
export function remedy(err: unknown): string | undefined {
  switch (classify(err)) {
    case 'access-denied':
      return 'the credentials in use lack a permission this step needs; see "Permissions" in the README, or use --profile';
    case 'quota':
      return 'an AWS service quota is reached; raise it in the Service Quotas console or free some, then resume';
    case 'throttled':
      return 'AWS kept throttling after all retries; wait a minute and resume';
    default:
      return undefined;
  }
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
  /** AWS's own code and message, for --verbose. */
  raw: string;
}

/**
 * THE translation of an AWS error for the operator (the errors work fills it in: AccessDenied
 * names the missing action, a quota names the quota and how to raise it, an expired session says
 * how to log in again). `profile` is the --profile in use, for the login line.
 */
export function explain(err: unknown, _context: { profile?: string | undefined } = {}): Explanation {
  const code = errorCode(err);
  const text = err instanceof Error ? err.message : String(err);
  const raw = `${code || 'error'}: ${text}`;
  const fix = remedy(err);
  return { message: raw.split('\n')[0]!, ...(fix ? { fix } : {}), raw };
}
