import type { AwsClients } from './clients.js';

export interface CallerIdentity {
  account: string;
  arn: string;
}

/** One answer per session: preflight asks first, the steps that need the account ask again. */
const asked = new WeakMap<object, Promise<CallerIdentity>>();

/**
 * The account and principal the credentials act as (STS GetCallerIdentity needs no permission),
 * asked of AWS once per session; a failed call is forgotten so that a later one may succeed.
 */
export function callerIdentity(aws: Pick<AwsClients, 'sts'>): Promise<CallerIdentity> {
  let identity = asked.get(aws);
  if (!identity) {
    identity = (async () => {
      const answer = await (await aws.sts()).getCallerIdentity({});
      return { account: answer.Account!, arn: answer.Arn! };
    })();
    asked.set(aws, identity);
    identity.catch(() => asked.delete(aws));
  }
  return identity;
}
