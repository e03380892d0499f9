import type { AwsSession } from '../aws/clients.js';
import { errorCode, remedy } from '../aws/errors.js';
import { badInput, errorMessage } from '../errors.js';
import { edgeRefusal } from '../steps/dns.js';
import type { Deployment } from '../commands/deployment.js';
import type { Ready } from '../commands/pipeline.js';

/**
 * What must hold in AWS for these answers to build, asked before anything is created (the
 * identity, the region and its zones are checked first, in commands/session.ts). Every failure is
 * an exit-2 one-liner saying what and how to fix it.
 */
export async function checkBeforeBuilding({ aws, deployment }: Ready): Promise<void> {
  await edgeAnswersHold(aws, deployment);
}

/** The domain's zone (or consent to create one) and a named certificate, asked of AWS before anything is created. */
async function edgeAnswersHold(aws: AwsSession, deployment: Deployment): Promise<void> {
  let refusal: Awaited<ReturnType<typeof edgeRefusal>>;
  try {
    refusal = await edgeRefusal(aws, deployment.config);
  } catch (err) {
    throw badInput(
      `cannot check the domain's zone and certificate: ${errorCode(err) || 'error'}: ${errorMessage(err).split('\n')[0]}`,
      remedy(err) ?? 'run it again',
    );
  }
  if (refusal) throw badInput(refusal.message, refusal.fix);
}

