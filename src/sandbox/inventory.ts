import { TAG_DEPLOYMENT, TAG_NAME, TAG_STEP } from '../aws/tags.js';
import type { Ec2Kind, World } from './world.js';

export interface SandboxResource {
  type: string;
  id: string;
  deployment: string | undefined;
  step: string | undefined;
  /** The Name tag, or the resource's own name where AWS keeps one (IAM, S3, SSM). */
  name: string | undefined;
}

const EC2_TYPES: Record<Ec2Kind, string> = {
  vpc: 'AWS::EC2::VPC',
  subnet: 'AWS::EC2::Subnet',
  instance: 'AWS::EC2::Instance',
  'internet-gateway': 'AWS::EC2::InternetGateway',
  'elastic-ip': 'AWS::EC2::EIP',
  'nat-gateway': 'AWS::EC2::NatGateway',
  'route-table': 'AWS::EC2::RouteTable',
  'security-group': 'AWS::EC2::SecurityGroup',
};

/** Everything the sandbox account holds that still exists, seen from outside the program. */
export function inventory(world: World, now: number): SandboxResource[] {
  const list: SandboxResource[] = [];
  const push = (type: string, id: string, tags: Record<string, string>, name = tags[TAG_NAME]) =>
    list.push({ type, id, deployment: tags[TAG_DEPLOYMENT], step: tags[TAG_STEP], name });
  for (const r of Object.values(world.ec2)) {
    if (r.goneAt !== undefined && now >= r.goneAt) continue;
    push(EC2_TYPES[r.kind], r.id, r.tags);
  }
  for (const p of Object.values(world.iam.policies)) push('AWS::IAM::ManagedPolicy', p.arn, p.tags, p.name);
  for (const r of Object.values(world.iam.roles)) push('AWS::IAM::Role', r.name, r.tags, r.name);
  for (const p of Object.values(world.iam.instanceProfiles)) push('AWS::IAM::InstanceProfile', p.name, p.tags, p.name);
  for (const b of Object.values(world.s3.buckets)) if (b.owner === world.accountId) push('AWS::S3::Bucket', b.name, b.tags, b.name);
  for (const p of Object.values(world.ssm.parameters)) push('AWS::SSM::Parameter', p.name, p.tags, p.name);
  return list;
}
