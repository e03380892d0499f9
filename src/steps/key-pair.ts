import { z } from 'zod';
import type { EC2, KeyPairInfo } from '@aws-sdk/client-ec2';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { belongsTo } from '../aws/tags.js';
import { requireSshPublicKey } from '../config/compute.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { discoverOurs, ec2Seen, tagSpec } from './ec2-common.js';
import { KEY_PAIR } from './instances.js';
import { guideNames } from './names.js';
import { notOurs, ownership } from './ownership.js';

export async function byName(ec2: EC2, name: string): Promise<KeyPairInfo | undefined> {
  return (await unlessNotFound(() => ec2.describeKeyPairs({ KeyNames: [name] })))?.KeyPairs?.[0];
}

function refuseForeign(ctx: StepContext, found: KeyPairInfo | undefined): void {
  if (found && !belongsTo(found.Tags, ctx.deployment)) {
    throw new Error(
      `key pair ${found.KeyName} exists and is not this deployment's (${notOurs(found.Tags ?? [], ctx.deployment)}); delete it or choose another --deployment`,
    );
  }
}

/**
 * Guide: a key pair for each host (bastion-host-a, gitaly, gitlab, ...). These collapse into one,
 * the operator's own public key, imported: no private key is ever made or downloaded.
 */
export const keyPair = defineStep({
  id: 'key-pair',
  title: 'Key pair',
  needs: [],
  minutes: 0.02,
  outputs: z.object({ keyName: z.string(), keyPairId: z.string() }),
  resources: (config) => [{ type: KEY_PAIR.type, name: guideNames(config.deployment).keyPair }],

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const name = guideNames(ctx.deployment).keyPair;
    const publicKey = requireSshPublicKey(ctx.config);
    let found = await byName(ec2, name);
    refuseForeign(ctx, found);
    if (!found) {
      try {
        const made = await ec2.importKeyPair({
          KeyName: name,
          PublicKeyMaterial: Buffer.from(publicKey, 'utf8'),
          TagSpecifications: tagSpec(ctx, 'key-pair', name),
        });
        found = { KeyName: made.KeyName!, KeyPairId: made.KeyPairId! };
      } catch (err) {
        // Imported by an earlier attempt whose answer was lost: adopted once its tags say ours.
        if (errorCode(err) !== 'InvalidKeyPair.Duplicate') throw err;
        found = await byName(ec2, name);
        refuseForeign(ctx, found);
      }
    }
    const keyPairId = found!.KeyPairId!;
    await ctx.record({ type: KEY_PAIR.type, id: keyPairId, name });
    return { keyName: name, keyPairId };
  },

  async verify(ctx, outputs) {
    const found = await byName(await ctx.aws.ec2(), outputs.keyName);
    return found?.KeyPairId === outputs.keyPairId && belongsTo(found.Tags, ctx.deployment);
  },

  discover: discoverOurs(KEY_PAIR),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r) => r.type === KEY_PAIR.type)) {
      if (!(await owner.ours(ref, () => ec2Seen(ctx, KEY_PAIR, ref.id)))) continue;
      await unlessNotFound(() => ec2.deleteKeyPair({ KeyPairId: ref.id }));
      await ctx.forget(ref);
    }
    return owner.result();
  },
});
