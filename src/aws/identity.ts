import type { AwsClients } from './clients.js';

/** The account and principal the credentials act as. STS GetCallerIdentity needs no permission. */
export async function callerIdentity(aws: Pick<AwsClients, 'sts'>): Promise<{ account: string; arn: string }> {
  const identity = await (await aws.sts()).getCallerIdentity({});
  return { account: identity.Account!, arn: identity.Arn! };
}
