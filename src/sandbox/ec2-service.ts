import { AWS_MINUTES } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import { sandboxResource, type SandboxService } from './core.js';
import { ec2, ec2Latency, type Ec2Kind, type Ec2Resource, type Ec2World } from './ec2.js';
import { images } from './images.js';
import { instances } from './instances.js';
import { instanceTypes } from './instance-types.js';
import { keyPairs } from './key-pairs.js';
import { launchTemplates } from './launch-templates.js';
import { vpcNetwork, vpcNetworkLatency } from './vpc-network.js';

/** Network interfaces are AWS's own (untagged, requester-managed): no install plans them. */
const TYPES: Record<Exclude<Ec2Kind, 'network-interface'>, string> = {
  vpc: 'AWS::EC2::VPC',
  subnet: 'AWS::EC2::Subnet',
  instance: 'AWS::EC2::Instance',
  'internet-gateway': 'AWS::EC2::InternetGateway',
  'elastic-ip': 'AWS::EC2::EIP',
  'nat-gateway': 'AWS::EC2::NatGateway',
  'route-table': 'AWS::EC2::RouteTable',
  'security-group': 'AWS::EC2::SecurityGroup',
  volume: 'AWS::EC2::Volume',
  'key-pair': 'AWS::EC2::KeyPair',
  image: 'AWS::EC2::Image',
  snapshot: 'AWS::EC2::Snapshot',
  'launch-template': 'AWS::EC2::LaunchTemplate',
};

/**
 * What an outsider counts: not the interfaces, and not an instance's volumes while they live and
 * die with it (DeleteOnTermination, as every instance of ours has); one that outlives it counts.
 */
function counted(r: Ec2Resource, now: number): boolean {
  if (r.kind === 'network-interface') return false;
  if (r.goneAt !== undefined && now >= r.goneAt) return false;
  return r.kind !== 'volume' || !r.attrs.deleteOnTermination;
}

function nameOf(r: Ec2Resource): string | undefined {
  return (
    r.tags[TAG_NAME] ??
    r.attrs.groupName ??
    r.attrs.keyName ??
    (r.kind === 'launch-template' || r.kind === 'image' ? r.attrs.name : undefined)
  );
}

/**
 * EC2: the VPC and its subnets (ec2.ts), instances and their volumes (instances.ts), images and
 * snapshots (images.ts), key pairs, launch templates, and the networking around them (vpc-network.ts).
 */
export const ec2Service: SandboxService<Ec2World, 'ec2'> = {
  name: 'ec2',
  operations: { ...ec2, ...instances, ...instanceTypes, ...images, ...keyPairs, ...launchTemplates, ...vpcNetwork },
  latency: {
    ...ec2Latency,
    ...vpcNetworkLatency,
    CreateLaunchTemplate: AWS_MINUTES.launchTemplate.create,
    CreateLaunchTemplateVersion: AWS_MINUTES.launchTemplate.create,
    DeleteLaunchTemplate: AWS_MINUTES.launchTemplate.delete,
    DeregisterImage: AWS_MINUTES.ami.delete,
  },
  empty: () => ({}),
  inventory: (world, now) =>
    Object.values(world.ec2).flatMap((r) =>
      counted(r, now) ? [sandboxResource(TYPES[r.kind as keyof typeof TYPES], r.id, nameOf(r), r.tags)] : [],
    ),
};
