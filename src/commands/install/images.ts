import type { AwsClients } from '../../aws/clients.js';
import { errorCode, remedy } from '../../aws/errors.js';
import type { InstallConfig } from '../../config/schema.js';
import { badInput, errorMessage } from '../../errors.js';
import { ImageRefusal, lookUpImages } from '../../steps/machine-images.js';

/**
 * What only AWS can say of the image answers, asked before anything is made: the region's
 * official GitLab AMIs offer the wanted version, and an AMI ID the operator names exists (and is a
 * GitLab image, for gitlab.amiId). The machine-images step asks the same again and records it.
 */
export async function checkImagesWithAws(aws: AwsClients, config: InstallConfig): Promise<void> {
  try {
    await lookUpImages(await aws.ec2(), await aws.ssm(), config);
  } catch (err) {
    if (err instanceof ImageRefusal) throw badInput(err.refusal, err.fix);
    throw badInput(
      `cannot look up the machine images: ${errorCode(err) || 'error'}: ${errorMessage(err).split('\n')[0]}`,
      remedy(err) ?? 'run it again',
    );
  }
}
