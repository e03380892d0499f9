import type { ServiceClients, ServiceName } from '../aws/services.js';
import { TAG_DEPLOYMENT, TAG_STEP } from '../aws/tags.js';
import { actionOf } from '../aws/errors.js';
import type { World } from './world.js';

/** An AWS error as the SDK would raise it after deserializing AWS's answer. */
export function awsError(code: string, message: string, status = 400): Error {
  const err = new Error(message) as Error & Record<string, unknown>;
  err.name = code;
  err.Code = code;
  err.$fault = status >= 500 ? 'server' : 'client';
  err.$metadata = { httpStatusCode: status };
  return err;
}

/**
 * AWS's refusal of a call the credentials may not make, in each service's own shape: EC2 with
 * an encoded message, S3 naming nothing, the others naming the principal and the action.
 */
export function accessDenied(service: ServiceName, operation: string, principal: string, account: string, region: string): Error {
  const action = actionOf({ service, operation });
  const resource = `arn:aws:${action.split(':')[0]}:${region}:${account}:*`;
  const because = `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  if (service === 's3') return awsError('AccessDenied', 'Access Denied', 403);
  if (service === 'ec2') {
    const encoded = Buffer.from(JSON.stringify({ allowed: false, action, resource })).toString('base64url');
    return awsError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. ${because}. Encoded authorization failure message: ${encoded}`,
      403,
    );
  }
  return awsError(
    ['acm', 'ssm', 'tagging', 'servicequotas', 'pricing'].includes(service) ? 'AccessDeniedException' : 'AccessDenied',
    because,
    403,
  );
}

/** What one operation sees: the world, the call's region, the sandbox clock's reading. */
export interface OperationContext {
  world: World;
  region: string;
  now: number;
  newId(prefix: string, length?: number): string;
  /** Marks a fresh resource as not yet visible to some by-ID lookups (eventual consistency). */
  startLag(id: string): void;
  /** True (and one lookup used up) while a fresh resource is still invisible by ID. */
  lagging(id: string): boolean;
  /**
   * ClientToken semantics: the same token with the same parameters returns what the first call
   * made; with other parameters it is IdempotentParameterMismatch.
   */
  idempotent(operation: string, token: string | undefined, input: unknown, create: () => string): { id: string; replay: boolean };
  /** Failures the run asked for that AWS decides on its own side (GITLAB_AWS_SANDBOX_FAULTS). */
  faults: OperationFaults;
}

export interface OperationFaults {
  /** Every NAT gateway created now fails, as AWS's now and then do (to rehearse "delete it and resume"). */
  failNatGateways?: boolean;
}

export type Operation = (ctx: OperationContext, input: any) => unknown;
export type ServiceOperations = Record<string, Operation | undefined>;

/** What an operation returns: the SDK's `...CommandOutput` without the HTTP metadata the client adds. */
export type Answer<Output> = Omit<Output, '$metadata'>;

/** The SDK's `...CommandInput` and `...CommandOutput` of an aggregated client's method (its callback overload names both). */
type Signature<Method> = Method extends (input: infer Input, options: any, callback: (err: any, data?: infer Output) => void) => void
  ? [Input, Output]
  : never;
type Commands<Client> = {
  [M in keyof Client & string as [Signature<Client[M]>] extends [never] ? never : Capitalize<M>]: Signature<Client[M]>;
};
type InputOf<Client, Name extends keyof Commands<Client>> = Commands<Client>[Name] extends [infer Input, unknown] ? Input : never;
type OutputOf<Client, Name extends keyof Commands<Client>> = Commands<Client>[Name] extends [unknown, infer Output] ? Output : never;

/**
 * A service's operations, each typed by its name with the SDK's own Command input and output:
 * `CreateVpc(ctx, input)` gets a CreateVpcCommandInput and must answer a CreateVpcCommandOutput,
 * and a misspelt operation does not compile.
 */
export type SdkOperations<Client> = {
  [Name in keyof Commands<Client>]?: (ctx: OperationContext, input: InputOf<Client, Name>) => Answer<OutputOf<Client, Name>>;
};

/** Minutes each named operation of a service takes on the sandbox clock; a misspelt name does not compile. */
export type Latency<Name extends ServiceName> = { [Operation in keyof SdkOperations<ServiceClients[Name]>]?: number };

/**
 * One AWS service of the sandbox, as a plug-in: what it answers, how long each answer takes, its
 * part of the account (a slice of the world with its own empty value) and what of it an outsider
 * would count as a resource. services.ts lists them; nothing else needs to know a service exists.
 */
export interface SandboxService<Slice, Name extends ServiceName> {
  /** The service it answers for, as src/aws/services.ts names it (the registry checks the two agree). */
  name: Name;
  operations: SdkOperations<ServiceClients[Name]>;
  /** Minutes an operation takes before it answers (from durations.ts, the one table). */
  latency: Latency<Name>;
  empty(): Slice;
  inventory(world: World, now: number): SandboxResource[];
  /**
   * What the service does on its own between calls (the sandbox has no background process): run
   * before every call of any service, so what one service reads of another's work (ELB the
   * targets an Auto Scaling group registered, EC2 the instances it launched) is up to date.
   */
  catchUp?(ctx: OperationContext): void;
}

/** One resource the sandbox account holds, as a test or a plan comparison sees it. */
export interface SandboxResource {
  type: string;
  id: string;
  /** The Name tag, or the name IAM, S3, SSM, Route 53 know it by. */
  name: string | undefined;
  deployment: string | undefined;
  step: string | undefined;
}

export function sandboxResource(type: string, id: string, name: string | undefined, tags: Record<string, string>): SandboxResource {
  return { type, id, name, deployment: tags[TAG_DEPLOYMENT], step: tags[TAG_STEP] };
}

export function isMutating(operation: string): boolean {
  return !/^(Describe|Get|List|Head)/.test(operation);
}

export function tagsFromSpecifications(
  specs: Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: string }> }> | undefined,
  resourceType: string,
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of specs ?? []) {
    if (spec.ResourceType && spec.ResourceType !== resourceType) {
      throw awsError('InvalidParameterValue', `'${spec.ResourceType}' is not a valid taggable resource type for this operation.`);
    }
    for (const tag of spec.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
  }
  return tags;
}

export function tagList(tags: Record<string, string>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagsFromList(list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of list ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
  return tags;
}

/** A pagination token naming the last item handed out, as opaque to callers as AWS's are. */
export function pageToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64');
}

/** The item a token from `pageToken` names, or undefined for a token the sandbox did not hand out. */
export function pageAfter(token: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown };
    return typeof parsed.after === 'string' ? parsed.after : undefined;
  } catch {
    return undefined;
  }
}
