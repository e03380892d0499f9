import type { AwsSession } from '../aws/clients.js';
import type { InstallConfig } from '../config/schema.js';
import { ImageRefusal, lookUpImages } from '../steps/machine-images.js';
import type { ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/**
 * The image answers hold, until the machine-images step has recorded them: the region's official
 * GitLab AMIs offer the wanted version, Canonical's Ubuntu 24.04 is there, and an AMI ID the
 * operator names (gitlab, gitaly, bastion) exists (and is a GitLab image, for gitlab.amiId). The
 * step asks the same again and records it.
 */
export async function imagesExist(aws: AwsSession, config: InstallConfig, left: ToBuild): Promise<Refusal | undefined> {
  if (!left.anyOf('machine-images')) return undefined;
  try {
    await lookUpImages(await aws.ec2(), await aws.ssm(), config);
    return undefined;
  } catch (err) {
    if (err instanceof ImageRefusal) return { message: err.refusal, fix: err.fix };
    throw err;
  }
}
