import { TAG_NAME } from '../aws/tags.js';
import { sandboxResource, type SandboxService } from './core.js';
import { ec2, ec2Latency, type Ec2Kind, type Ec2World } from './ec2.js';
import { instances } from './instances.js';
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

/** EC2: the VPC and its subnets (ec2.ts), instances and their volumes (instances.ts), the networking around them (vpc-network.ts). */
export const ec2Service: SandboxService<Ec2World, 'ec2'> = {
  name: 'ec2',
  operations: { ...ec2, ...instances, ...vpcNetwork },
  latency: { ...ec2Latency, ...vpcNetworkLatency },
  empty: () => ({}),
  inventory: (world, now) =>
    Object.values(world.ec2).flatMap((r) =>
      r.kind === 'network-interface' || (r.goneAt !== undefined && now >= r.goneAt)
        ? []
        : [sandboxResource(TYPES[r.kind], r.id, r.tags[TAG_NAME] ?? r.attrs.groupName, r.tags)],
    ),
};
