import { createAwsSession, type AwsSession } from '../aws/clients.js';
import { classify, explain } from '../aws/errors.js';
import { callerIdentity, type CallerIdentity } from '../aws/identity.js';
import { regionRefusal, zoneRefusal } from '../aws/region.js';
import { badInput, errorMessage } from '../errors.js';
import type { GlobalOptions } from './options.js';

export async function openSession(options: GlobalOptions, region: string): Promise<AwsSession> {
  return createAwsSession({
    region,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.sandbox ? { sandbox: { stateDir: options.stateDir } } : {}),
  });
}

/**
 * What must hold before anything is created, asked of AWS: the credentials work (who we are),
 * the region exists and is enabled for the account, and it offers the Availability Zones asked
 * for (`zones.wanted`: empty when the command builds nothing; `zones.teardown` when they are an
 * installed deployment's, the command that removes it). Every refusal is an exit-2 one-liner.
 */
export async function preflight(
  aws: AwsSession,
  zones: { wanted: readonly string[]; teardown?: string } = { wanted: [] },
  { profile }: { profile?: string | undefined } = {},
): Promise<CallerIdentity> {
  let identity: CallerIdentity;
  try {
    identity = await callerIdentity(aws);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
      throw badInput(
        `cannot reach AWS in region '${aws.region}': ${firstLine(err)}`,
        "check the region's name; 'aws ec2 describe-regions --all-regions' lists them",
      );
    }
    // The one translation of AWS errors says what is wrong with them (expired, missing, denied).
    const explained = explain(err, { profile });
    throw badInput(
      `cannot use AWS credentials: ${explained.message}`,
      explained.fix ?? 'configure credentials (aws configure, aws sso login, or AWS_PROFILE), pass --profile, or rehearse with --sandbox',
    );
  }
  const ec2 = await aws.ec2();
  const regionProblem = await ask(aws, profile, 'DescribeRegions', () => regionRefusal(ec2, aws.region));
  if (regionProblem) throw badInput(regionProblem.message, regionProblem.fix);
  const zoneProblem = await ask(aws, profile, 'DescribeAvailabilityZones', () => zoneRefusal(ec2, aws.region, zones.wanted));
  if (zoneProblem) {
    // An installed deployment's zones cannot change (one installed before this check existed).
    const fix = zones.teardown ? `its zones cannot change: remove it with '${zones.teardown}', then install again` : zoneProblem.fix;
    throw badInput(zoneProblem.message, fix);
  }
  return identity;
}

/** One preflight question to EC2; an AWS error while asking is refused like bad input. */
async function ask<T>(aws: AwsSession, profile: string | undefined, operation: string, question: () => Promise<T>): Promise<T> {
  try {
    return await question();
  } catch (err) {
    const explained = explain(err, { profile });
    throw badInput(
      `cannot check region ${aws.region} (EC2 ${operation}): ${explained.message}`,
      explained.fix ?? (classify(err) === 'other' ? 'check the region and your network, then run the command again' : 'run it again'),
    );
  }
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0]!;
}
