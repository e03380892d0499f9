import { TAG_DEPLOYMENT, TAG_STEP } from '../aws/tags.js';
import type { World } from './world.js';

export interface SandboxResource {
  type: string;
  id: string;
  deployment: string | undefined;
  step: string | undefined;
}

const EC2_TYPES = { vpc: 'AWS::EC2::VPC', subnet: 'AWS::EC2::Subnet', instance: 'AWS::EC2::Instance' } as const;

/** Everything the sandbox account holds that still exists, seen from outside the program. */
export function inventory(world: World, now: number): SandboxResource[] {
  const list: SandboxResource[] = [];
  const push = (type: string, id: string, tags: Record<string, string>) =>
    list.push({ type, id, deployment: tags[TAG_DEPLOYMENT], step: tags[TAG_STEP] });
  for (const r of Object.values(world.ec2)) {
    if (r.kind === 'instance' && r.goneAt !== undefined && now >= r.goneAt) continue;
    push(EC2_TYPES[r.kind], r.id, r.tags);
  }
  for (const p of Object.values(world.iam.policies)) push('AWS::IAM::ManagedPolicy', p.arn, p.tags);
  for (const r of Object.values(world.iam.roles)) push('AWS::IAM::Role', r.name, r.tags);
  for (const p of Object.values(world.iam.instanceProfiles)) push('AWS::IAM::InstanceProfile', p.name, p.tags);
  return list;
}
