import type { AwsSession } from '../aws/clients.js';
import { sideBySide } from '../aws/clock.js';
import { badInput } from '../errors.js';
import { edgeRefusal } from '../steps/dns.js';
import type { Deployment } from '../commands/deployment.js';
import type { Ready } from '../commands/pipeline.js';
import { toBuild } from './building.js';
import { cacheOffered } from './cache.js';
import { databaseOffered } from './database.js';
import { imagesExist } from './images.js';
import { instanceTypesOffered } from './instance-types.js';
import { namesFree } from './names.js';
import { quotasLeaveRoom } from './quotas.js';
import { asking, type Refusal } from './refusal.js';

/**
 * What must hold in AWS for these answers to build, asked before anything is created (the
 * identity, the region and its zones are checked first, in commands/session.ts). On a resume only
 * what the steps not complete still need. The checks are independent, so they ask at once
 * (each on a timeline of its own: src/aws/clock.ts sideBySide); the first refusal in this order is the
 * one reported, an exit-2 one-liner saying what and how to fix it.
 */
export async function checkBeforeBuilding({ ctx, aws, deployment, identity }: Ready): Promise<void> {
  const { config } = deployment;
  const left = toBuild(deployment);
  const ask = (what: string, check: () => Promise<Refusal | undefined>) => asking(what, ctx.options.profile, check);
  const refusals = await sideBySide(aws.clock, [
    () => ask('the instance types offered', async () => instanceTypesOffered(await aws.ec2(), config, left)),
    () => ask('the account quotas', () => quotasLeaveRoom(aws, config, left, ctx.host)),
    () => ask("the domain's zone and certificate", () => edgeAnswersHold(aws, deployment)),
    () => ask('the machine images', () => imagesExist(aws, config, left)),
    () => ask('the database answers', () => databaseOffered(aws, config, left)),
    () => ask('the cache engine', async () => cacheOffered(await aws.elasticache(), config, left)),
    () => ask('the names the install gives resources', () => namesFree(aws, config, identity.account, left)),
  ]);
  const refusal = refusals.find(Boolean);
  if (refusal) throw badInput(refusal.message, refusal.fix);
}

/** The domain's zone (or consent to create one) and a named certificate. */
async function edgeAnswersHold(aws: AwsSession, deployment: Deployment): Promise<Refusal | undefined> {
  return (await edgeRefusal(aws, deployment.config)) ?? undefined;
}
