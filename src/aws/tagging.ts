import type { AwsClients } from './clients.js';
import { TAG_DEPLOYMENT, TAG_STEP } from './tags.js';

/**
 * The ARNs of one step's resources of this deployment in the session's region, from the Resource
 * Groups Tagging API: one query whatever names the install chose (a --bucket-prefix, say). It
 * does not list IAM, and like every tag index it may lag a fresh create, so a step still checks
 * each resource's own tags before it calls it ours.
 */
export async function taggedArns(aws: AwsClients, deployment: string, step: string, resourceType: string): Promise<string[]> {
  const tagging = await aws.tagging();
  const arns: string[] = [];
  let PaginationToken: string | undefined;
  do {
    const page = await tagging.getResources({
      TagFilters: [
        { Key: TAG_DEPLOYMENT, Values: [deployment] },
        { Key: TAG_STEP, Values: [step] },
      ],
      ResourceTypeFilters: [resourceType],
      ResourcesPerPage: 100,
      ...(PaginationToken ? { PaginationToken } : {}),
    });
    for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.push(r.ResourceARN);
    // AWS ends a listing with an empty token.
    PaginationToken = page.PaginationToken || undefined;
  } while (PaginationToken);
  return arns;
}
