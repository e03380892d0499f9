/**
 * The built-in price table: AWS's On-Demand prices in USD for what the install leaves running, as
 * of `asOf`. The plan's monthly cost uses it when the AWS Price List API cannot be asked (the
 * sandbox, no credentials, no network) and for any item the Price List did not answer.
 *
 * Source: the AWS pricing pages the guide links ("AWS costs") and the Price List API (GetProducts)
 * for the same products:
 *   https://aws.amazon.com/ec2/pricing/on-demand/           (instances: Linux, shared tenancy)
 *   https://aws.amazon.com/ebs/pricing/                      (gp3, io1 GiB and IOPS, snapshots)
 *   https://aws.amazon.com/vpc/pricing/                      (NAT gateways, public IPv4 addresses)
 *   https://aws.amazon.com/elasticloadbalancing/pricing/     (Network Load Balancer hours and NLCUs)
 *   https://aws.amazon.com/rds/postgresql/pricing/           (Multi-AZ instances, storage, IOPS)
 *   https://aws.amazon.com/elasticache/pricing/              (node-based Redis OSS and Valkey)
 *   https://aws.amazon.com/route53/pricing/                  (hosted zones)
 *   https://aws.amazon.com/cloudwatch/pricing/               (standard-resolution alarms)
 *   https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-changes.html (Price List API)
 * The figures are the pages' published On-Demand rates as we know them at `asOf`; those checked
 * against a public copy of the pages when the table was written: ElastiCache cache.t3.micro and
 * cache.t3.medium in us-east-1 and us-west-2 ($0.017, $0.068), RDS for PostgreSQL gp3 storage
 * ($0.115 per GiB-month Single-AZ, $0.02 per IOPS above the baseline) and db.r5.large Multi-AZ
 * ($0.50 an hour). Where a European figure could not be checked (RDS and ElastiCache in eu-west-1
 * and eu-central-1, the NLCU in eu-central-1) it is our best knowledge and marked so below. On real
 * AWS the Price List API's current figure replaces the table's whenever it answers.
 */
export const PRICE_TABLE_AS_OF = '2026-12-01';

/** Hours AWS bills a month at (its pricing pages and calculator use 730). */
export const HOURS_PER_MONTH = 730;

/**
 * One price, by what it is for. The unit is part of the name's meaning:
 * - `ec2:<type>`, `rds:<class>` (Multi-AZ, both instances), `cache:<engine>:<type>`, `nat`, `nlb`,
 *   `nlcu`, `ipv4`: USD per hour;
 * - `ebs:gp3`, `ebs:io1`, `ebs:snapshot`, `rds-storage:<type>` (Multi-AZ): USD per GiB-month;
 * - `ebs:io1-iops`, `rds-iops:<type>` (Multi-AZ): USD per provisioned IOPS-month;
 * - `nat-gb`: USD per GB processed (usage, quoted beside the hourly figure);
 * - `zone`, `alarm`: USD per month.
 */
export type PriceKey =
  | `ec2:${string}`
  | 'ebs:gp3'
  | 'ebs:io1'
  | 'ebs:io1-iops'
  | 'ebs:snapshot'
  | 'ipv4'
  | 'nat'
  | 'nat-gb'
  | 'nlb'
  | 'nlcu'
  | `rds:${string}`
  | `rds-storage:${string}`
  | `rds-iops:${string}`
  | `cache:${string}`
  | 'zone'
  | 'alarm';

export type RegionPrices = Partial<Record<PriceKey, number>>;

/** ElastiCache prices Valkey nodes 20% below the same Redis OSS node. */
function cacheNodes(redis: Record<string, number>): RegionPrices {
  const prices: RegionPrices = {};
  for (const [type, hourly] of Object.entries(redis)) {
    prices[`cache:redis:${type}`] = hourly;
    prices[`cache:valkey:${type}`] = +(hourly * 0.8).toFixed(4);
  }
  return prices;
}

/** RDS lists Multi-AZ at twice the Single-AZ rate (the standby is a second instance). */
function multiAz(singleAz: Record<string, number>, prefix: 'rds' | 'rds-storage' | 'rds-iops'): RegionPrices {
  return Object.fromEntries(Object.entries(singleAz).map(([k, v]) => [`${prefix}:${k}`, +(v * 2).toFixed(4)]));
}

/** us-east-1, us-east-2 and us-west-2 price every item here alike. */
const US: RegionPrices = {
  'ec2:t2.micro': 0.0116,
  'ec2:t3.micro': 0.0104,
  'ec2:t3.small': 0.0208,
  'ec2:t3.medium': 0.0416,
  'ec2:m5.large': 0.096,
  'ec2:m5.xlarge': 0.192,
  'ec2:m5.2xlarge': 0.384,
  'ec2:m6i.xlarge': 0.192,
  'ec2:c5.xlarge': 0.17,
  'ec2:c5.2xlarge': 0.34,
  'ec2:c5.4xlarge': 0.68,
  'ec2:c6i.2xlarge': 0.34,
  'ebs:gp3': 0.08,
  'ebs:io1': 0.125,
  'ebs:io1-iops': 0.065,
  'ebs:snapshot': 0.05,
  ipv4: 0.005,
  nat: 0.045,
  'nat-gb': 0.045,
  nlb: 0.0225,
  nlcu: 0.006,
  ...multiAz(
    {
      'db.t3.medium': 0.072,
      'db.t4g.medium': 0.065,
      'db.m5.large': 0.178,
      'db.m5.xlarge': 0.356,
      'db.m5.2xlarge': 0.712,
      'db.m6i.large': 0.178,
      'db.m6g.large': 0.159,
      'db.r5.large': 0.25,
      'db.r6i.large': 0.25,
      'db.r6g.large': 0.225,
    },
    'rds',
  ),
  ...multiAz({ io1: 0.125, io2: 0.125, gp3: 0.115, gp2: 0.115 }, 'rds-storage'),
  ...multiAz({ io1: 0.1, io2: 0.1, gp3: 0.02 }, 'rds-iops'),
  ...cacheNodes({
    'cache.t3.micro': 0.017,
    'cache.t3.small': 0.034,
    'cache.t3.medium': 0.068,
    'cache.m5.large': 0.156,
    'cache.r6g.large': 0.206,
  }),
  zone: 0.5,
  alarm: 0.1,
};

const EU_WEST_1: RegionPrices = {
  'ec2:t2.micro': 0.0126,
  'ec2:t3.micro': 0.0114,
  'ec2:t3.small': 0.0228,
  'ec2:t3.medium': 0.0456,
  'ec2:m5.large': 0.107,
  'ec2:m5.xlarge': 0.214,
  'ec2:m5.2xlarge': 0.428,
  'ec2:m6i.xlarge': 0.214,
  'ec2:c5.xlarge': 0.192,
  'ec2:c5.2xlarge': 0.384,
  'ec2:c5.4xlarge': 0.768,
  'ec2:c6i.2xlarge': 0.384,
  'ebs:gp3': 0.088,
  'ebs:io1': 0.138,
  'ebs:io1-iops': 0.072,
  'ebs:snapshot': 0.05,
  ipv4: 0.005,
  nat: 0.048,
  'nat-gb': 0.048,
  nlb: 0.0252,
  nlcu: 0.006,
  // Best knowledge of the RDS and ElastiCache pages (not confirmed from a page at hand).
  ...multiAz({ 'db.t3.medium': 0.076, 'db.m5.large': 0.197, 'db.m5.xlarge': 0.394, 'db.m6i.large': 0.197, 'db.r6i.large': 0.28 }, 'rds'),
  ...multiAz({ io1: 0.138, io2: 0.138, gp3: 0.127, gp2: 0.127 }, 'rds-storage'),
  ...multiAz({ io1: 0.11, io2: 0.11, gp3: 0.022 }, 'rds-iops'),
  ...cacheNodes({ 'cache.t3.micro': 0.018, 'cache.t3.small': 0.036, 'cache.t3.medium': 0.073, 'cache.m5.large': 0.17 }),
  zone: 0.5,
  alarm: 0.1,
};

const EU_CENTRAL_1: RegionPrices = {
  'ec2:t2.micro': 0.0134,
  'ec2:t3.micro': 0.012,
  'ec2:t3.small': 0.024,
  'ec2:t3.medium': 0.048,
  'ec2:m5.large': 0.115,
  'ec2:m5.xlarge': 0.23,
  'ec2:m5.2xlarge': 0.46,
  'ec2:m6i.xlarge': 0.23,
  'ec2:c5.xlarge': 0.194,
  'ec2:c5.2xlarge': 0.388,
  'ec2:c5.4xlarge': 0.776,
  'ec2:c6i.2xlarge': 0.388,
  'ebs:gp3': 0.0952,
  'ebs:io1': 0.149,
  'ebs:io1-iops': 0.078,
  'ebs:snapshot': 0.054,
  ipv4: 0.005,
  nat: 0.052,
  'nat-gb': 0.052,
  nlb: 0.027,
  // Best knowledge (the NLCU, and the RDS and ElastiCache figures below).
  nlcu: 0.006,
  ...multiAz({ 'db.t3.medium': 0.082, 'db.m5.large': 0.214, 'db.m5.xlarge': 0.428, 'db.m6i.large': 0.214, 'db.r6i.large': 0.3 }, 'rds'),
  ...multiAz({ io1: 0.149, io2: 0.149, gp3: 0.137, gp2: 0.137 }, 'rds-storage'),
  ...multiAz({ io1: 0.119, io2: 0.119, gp3: 0.024 }, 'rds-iops'),
  ...cacheNodes({ 'cache.t3.micro': 0.019, 'cache.t3.small': 0.038, 'cache.t3.medium': 0.078, 'cache.m5.large': 0.178 }),
  zone: 0.5,
  alarm: 0.1,
};

/** The regions the table holds prices for; the guide's us-west-2 first. */
export const PRICE_TABLE: Readonly<Record<string, RegionPrices>> = {
  'us-west-2': US,
  'us-east-1': US,
  'us-east-2': US,
  'eu-west-1': EU_WEST_1,
  'eu-central-1': EU_CENTRAL_1,
};

/** A region outside the table is priced as us-east-1 (usually AWS's lowest), and the plan says so. */
export const FALLBACK_REGION = 'us-east-1';

/** The table's prices for a region, and a note when they are another region's. */
export function tablePrices(region: string): { prices: RegionPrices; note?: string } {
  const prices = PRICE_TABLE[region];
  if (prices) return { prices };
  return {
    prices: PRICE_TABLE[FALLBACK_REGION]!,
    note: `the table holds no prices for ${region}: ${FALLBACK_REGION}'s are shown (${region} may cost more)`,
  };
}

/**
 * How each kind of resource the install makes is charged. Every type a plan can list is here
 * (test/cost.test.ts holds that), so a step cannot add a resource without saying what it costs;
 * src/pricing/cost.ts prices the `priced` ones.
 */
export const RESOURCE_CHARGES: Readonly<Record<string, { charge: 'priced' | 'free' | 'usage'; note: string }>> = {
  'AWS::EC2::Instance': { charge: 'priced', note: 'instance hours and its root volume' },
  'AWS::EC2::EIP': { charge: 'priced', note: 'public IPv4 address hours' },
  'AWS::EC2::NatGateway': { charge: 'priced', note: 'hours, plus data processed (usage)' },
  'AWS::ElasticLoadBalancingV2::LoadBalancer': { charge: 'priced', note: 'hours, capacity units and its public IPv4 addresses' },
  'AWS::RDS::DBInstance': { charge: 'priced', note: 'Multi-AZ instance hours, storage and provisioned IOPS' },
  'AWS::ElastiCache::ReplicationGroup': { charge: 'priced', note: 'node hours, primary and replicas' },
  'AWS::EC2::Snapshot': { charge: 'priced', note: "the AMI's snapshot storage" },
  'AWS::Route53::HostedZone': { charge: 'priced', note: 'a month per zone' },
  'AWS::CloudWatch::Alarm': { charge: 'priced', note: 'a month per standard alarm' },
  'AWS::S3::Bucket': { charge: 'usage', note: 'storage and requests as GitLab uses them' },
  'AWS::Route53::RecordSet': { charge: 'usage', note: 'DNS queries; those of the alias to the load balancer are free' },
  'AWS::IAM::ManagedPolicy': { charge: 'free', note: 'IAM is free' },
  'AWS::IAM::Role': { charge: 'free', note: 'IAM is free' },
  'AWS::IAM::InstanceProfile': { charge: 'free', note: 'IAM is free' },
  'AWS::EC2::VPC': { charge: 'free', note: 'VPCs, subnets, gateways and route tables are free' },
  'AWS::EC2::Subnet': { charge: 'free', note: 'free' },
  'AWS::EC2::InternetGateway': { charge: 'free', note: 'free (data transfer out is usage)' },
  'AWS::EC2::RouteTable': { charge: 'free', note: 'free' },
  'AWS::EC2::SecurityGroup': { charge: 'free', note: 'free' },
  'AWS::EC2::KeyPair': { charge: 'free', note: 'free' },
  'AWS::EC2::LaunchTemplate': { charge: 'free', note: 'free' },
  'AWS::EC2::Image': { charge: 'free', note: 'free itself; its snapshot is priced' },
  'AWS::AutoScaling::AutoScalingGroup': { charge: 'free', note: 'free itself; its instances are priced' },
  'AWS::AutoScaling::ScalingPolicy': { charge: 'free', note: 'free' },
  'AWS::ElasticLoadBalancingV2::TargetGroup': { charge: 'free', note: "part of the load balancer's hours" },
  'AWS::ElasticLoadBalancingV2::Listener': { charge: 'free', note: "part of the load balancer's hours" },
  'AWS::RDS::DBSubnetGroup': { charge: 'free', note: 'free' },
  'AWS::ElastiCache::SubnetGroup': { charge: 'free', note: 'free' },
  'AWS::CertificateManager::Certificate': { charge: 'free', note: 'public ACM certificates are free' },
  'AWS::SSM::Parameter': { charge: 'free', note: 'standard SSM parameters are free' },
};
