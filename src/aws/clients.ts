import { wallClock, type Clock } from './clock.js';
import { markCall } from './errors.js';
import { SERVICE_CLIENT_CONFIG, SERVICE_LOADERS, SERVICE_NAMES, type ServiceClients, type ServiceName } from './services.js';

/**
 * Steps call the aggregated clients (`ec2.createVpc(...)`) and import SDK types only, so
 * services.ts's loaders are the only place an SDK client package is loaded, each on first use.
 */
export type { ServiceClients, ServiceName };

export type AwsClients = { [K in ServiceName]: () => Promise<ServiceClients[K]> };

/** Everything a run needs from AWS: clients, the region, and the clock AWS's time passes on. */
export interface AwsSession extends AwsClients {
  readonly region: string;
  readonly clock: Clock;
  readonly sandbox: boolean;
  /** The --profile in use, for the login line of an expired session (explain). */
  readonly profile?: string;
  /** Services whose client has been built so far (start-up cost is paid only for these). */
  builtClients(): ServiceName[];
  /** Flushes what must outlive the process (the sandbox's world); a no-op against real AWS. */
  close(): Promise<void>;
}

export interface AwsSessionOptions {
  region: string;
  profile?: string;
  /**
   * A command that only looks (status's live health): two attempts and short timeouts, so an
   * unreachable AWS (no network, a closed endpoint) is said at once instead of after ten retries.
   */
  quick?: boolean;
  /** Run against the in-memory AWS kept in this state directory instead of a real account. */
  sandbox?: { stateDir: string };
}

/** Shape shared by the SDK clients that the factory configures. */
interface AnyClient {
  middlewareStack: { add(mw: unknown, options: unknown): void };
}
type ClientConstructor = new (config: Record<string, unknown>) => AnyClient;

/** A hook that can answer every call in-process: the sandbox plugs in here and nowhere else. */
export interface CallInterceptor {
  clock: Clock;
  clientConfig(): Record<string, unknown>;
  intercept(call: { service: ServiceName; region: string; operation: string; input: unknown }): Promise<unknown>;
  close(): Promise<void>;
}

export async function createAwsSession(options: AwsSessionOptions): Promise<AwsSession> {
  const interceptor = options.sandbox ? await openSandboxInterceptor(options.sandbox.stateDir) : undefined;
  const realConfig = interceptor ? undefined : await realClientConfig(options.profile, Boolean(options.quick));
  // Each client its own retry strategy, as the SDK gives a client by default: a strategy holds the
  // retry quota (a token bucket), and one shared by every client would let a burst of throttling
  // on one service spend the retries of all.
  const baseConfig = () => (interceptor ? interceptor.clientConfig() : realConfig!);
  const built = new Map<ServiceName, Promise<unknown>>();

  function client<K extends ServiceName>(name: K): () => Promise<ServiceClients[K]> {
    return () => {
      let pending = built.get(name);
      if (!pending) {
        pending = SERVICE_LOADERS[name]().then((Ctor) => {
          const instance = new (Ctor as unknown as ClientConstructor)({
            ...baseConfig(),
            ...SERVICE_CLIENT_CONFIG[name],
            region: ownRegion(name) ?? options.region,
          });
          attachCallName(instance, name, options.region);
          if (interceptor) attachInterceptor(instance, name, options.region, interceptor);
          return instance;
        });
        built.set(name, pending);
      }
      return pending as Promise<ServiceClients[K]>;
    };
  }

  return {
    region: options.region,
    clock: interceptor?.clock ?? wallClock,
    sandbox: Boolean(interceptor),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(Object.fromEntries(SERVICE_NAMES.map((name) => [name, client(name)])) as AwsClients),
    builtClients: () => [...built.keys()],
    close: async () => interceptor?.close(),
  };
}

/**
 * Real AWS: one credential provider for every client, so SSO, assume-role and MFA prompts happen
 * once; adaptive retries because an install polls many resources at once. Endpoints are left to
 * the SDK, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (LocalStack, moto).
 */
async function realClientConfig(profile: string | undefined, quick: boolean): Promise<Record<string, unknown>> {
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const credentials = fromNodeProviderChain(profile ? { profile } : {});
  // The operator's own AWS_MAX_ATTEMPTS / AWS_RETRY_MODE win over our defaults.
  return {
    credentials,
    ...(process.env.AWS_RETRY_MODE ? {} : { retryMode: quick ? 'standard' : 'adaptive' }),
    ...(process.env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: quick ? 2 : 10 }),
    ...(quick ? { requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000 } } : {}),
  };
}

async function openSandboxInterceptor(stateDir: string): Promise<CallInterceptor> {
  const { openSandbox } = await import('../sandbox/index.js');
  return openSandbox({ stateDir });
}

/** What the interceptor reads of the SDK's handler context: the command, and where it is sent. */
interface InterceptedContext {
  commandName?: string;
  endpointV2?: { properties?: { authSchemes?: Array<{ signingRegion?: string }> } };
}

/**
 * Every error a client raises carries the call it came from (after the SDK's retries): S3's
 * "Access Denied" and a refused connection name no action or service, and explain then names it.
 */
function attachCallName(instance: AnyClient, service: ServiceName, region: string) {
  instance.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: InterceptedContext) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (err) {
        markCall(err, { service, operation: (context.commandName ?? '').replace(/Command$/, ''), region });
        throw err;
      }
    },
    { step: 'initialize', priority: 'high', name: 'gitlabAwsCallName' },
  );
}

/**
 * The interceptor answers inside each retry attempt, after serialization and signing and before
 * any HTTP: the SDK's own retry and error handling run exactly as against AWS.
 */
function attachInterceptor(instance: AnyClient, service: ServiceName, region: string, interceptor: CallInterceptor) {
  instance.middlewareStack.add(
    (_next: unknown, context: InterceptedContext) => async (args: { input: unknown }) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      // S3 calls go where the SDK addressed them: after a redirect, to the bucket's region.
      const addressed =
        service === 's3' ? (context.endpointV2?.properties?.authSchemes?.[0]?.signingRegion ?? region) : (ownRegion(service) ?? region);
      const output = (await interceptor.intercept({ service, region: addressed, operation, input: args.input })) as Record<string, unknown>;
      return { output: { ...output, $metadata: { httpStatusCode: 200 } }, response: {} };
    },
    { step: 'deserialize', priority: 'high', name: 'gitlabAwsSandbox' },
  );
}

/** The region a service is answered in whatever the session's (the Price List API's), if any. */
function ownRegion(service: ServiceName): string | undefined {
  return SERVICE_CLIENT_CONFIG[service]?.region as string | undefined;
}
