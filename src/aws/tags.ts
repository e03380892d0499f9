/**
 * Every resource gitlab-aws creates carries these tags (where the resource takes tags). They are
 * how a resumed run adopts what a crashed run created, how teardown finds what the state file
 * missed, and how we refuse to touch anything that belongs to someone else.
 */
export const TAG_DEPLOYMENT = 'gitlab-aws:deployment';
export const TAG_STEP = 'gitlab-aws:step';
export const TAG_NAME = 'Name';

export interface Tag {
  Key: string;
  Value: string;
}

export function resourceTags(deployment: string, step: string, name: string): Tag[] {
  return [
    { Key: TAG_NAME, Value: name },
    { Key: TAG_DEPLOYMENT, Value: deployment },
    { Key: TAG_STEP, Value: step },
  ];
}

/** EC2 `Filters` selecting this deployment's resources of one step (and one Name, if given). */
export function ec2TagFilters(deployment: string, step: string, name?: string) {
  const filters = [
    { Name: `tag:${TAG_DEPLOYMENT}`, Values: [deployment] },
    { Name: `tag:${TAG_STEP}`, Values: [step] },
  ];
  if (name) filters.push({ Name: `tag:${TAG_NAME}`, Values: [name] });
  return filters;
}

export function tagValue(tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined, key: string) {
  return tags?.find((t) => t.Key === key)?.Value;
}

export function belongsTo(tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined, deployment: string) {
  return tagValue(tags, TAG_DEPLOYMENT) === deployment;
}
