import type { GetProductsCommandInput } from '@aws-sdk/client-pricing';
import { PRICE_TABLE, PRICE_TABLE_AS_OF, type PriceKey } from '../pricing/table.js';
import { awsError, pageAfter, pageToken, type OperationContext, type SandboxService } from './core.js';

/**
 * The AWS Price List API (GetProducts) of the sandbox account: the products of the built-in table's
 * regions, at its prices, in the API's own shape (each PriceList entry a JSON string with product
 * attributes and OnDemand terms, usage types with the region's prefix) and beside the products a
 * query must not pick (Windows, Single-AZ, idle addresses, archive snapshots, a Reserved term), so
 * that the plan's Price List code is exercised as against AWS. It answers only where AWS has the
 * API's endpoints.
 */
export const pricingService: SandboxService<Record<string, never>, 'pricing'> = {
  name: 'pricing',
  operations: {
    GetProducts: (ctx, input) => getProducts(ctx, input),
  },
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};

const ENDPOINT_REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'];

const REGIONS: Record<string, { location: string; prefix: string }> = {
  'us-east-1': { location: 'US East (N. Virginia)', prefix: '' },
  'us-east-2': { location: 'US East (Ohio)', prefix: 'USE2-' },
  'us-west-2': { location: 'US West (Oregon)', prefix: 'USW2-' },
  'eu-west-1': { location: 'EU (Ireland)', prefix: 'EU-' },
  'eu-central-1': { location: 'EU (Frankfurt)', prefix: 'EUC1-' },
};

interface Product {
  serviceCode: string;
  attributes: Record<string, string>;
  /** OnDemand price tiers: [beginRange, USD]. */
  tiers: Array<[string, number]>;
  unit: string;
}

function getProducts(ctx: OperationContext, input: GetProductsCommandInput) {
  if (!ENDPOINT_REGIONS.includes(ctx.region)) {
    throw awsError(
      'UnknownEndpoint',
      `Inaccessible host: 'api.pricing.${ctx.region}.amazonaws.com'. The Price List API is in ${ENDPOINT_REGIONS.join(', ')}.`,
    );
  }
  if (!input.ServiceCode) throw awsError('InvalidParameterException', 'ServiceCode is required');
  const filters = input.Filters ?? [];
  for (const f of filters) if (f.Type !== 'TERM_MATCH') throw awsError('InvalidParameterException', `Unsupported filter type ${f.Type}`);
  const matching = catalogue().filter(
    (p) =>
      p.serviceCode === input.ServiceCode &&
      filters.every((f) => (f.Field === 'ServiceCode' ? p.serviceCode : p.attributes[f.Field!]) === f.Value),
  );
  const start = input.NextToken ? Number(pageAfter(input.NextToken) ?? NaN) : 0;
  if (!Number.isInteger(start)) throw awsError('InvalidNextTokenException', 'The pagination token is invalid');
  const size = input.MaxResults ?? 100;
  const page = matching.slice(start, start + size);
  return {
    FormatVersion: 'aws_v1',
    PriceList: page.map(toPriceListEntry),
    ...(start + size < matching.length ? { NextToken: pageToken(String(start + size)) } : {}),
  };
}

let built: Product[] | undefined;

function catalogue(): Product[] {
  built ??= [
    ...Object.entries(PRICE_TABLE).flatMap(([region, prices]) =>
      Object.entries(prices).flatMap(([key, usd]) => (usd === undefined ? [] : productsOf(key as PriceKey, usd, region))),
    ),
    // Route 53 prices zones globally, the first 25 a month higher than the rest.
    {
      serviceCode: 'AmazonRoute53',
      attributes: { productFamily: 'DNS Zone', usagetype: 'HostedZone', location: 'Global' },
      tiers: [
        ['0', 0.5],
        ['25', 0.1],
      ],
      unit: 'HostedZone',
    },
  ];
  return built;
}

/** What AWS lists for one of the table's prices in a region, with its look-alikes. */
function productsOf(key: PriceKey, usd: number, region: string): Product[] {
  const { location, prefix } = REGIONS[region]!;
  const at = { location, regionCode: region };
  const one = (serviceCode: string, attributes: Record<string, string>, unit: string, price = usd): Product => ({
    serviceCode,
    attributes: { ...at, ...attributes },
    tiers: [['0', price]],
    unit,
  });
  const [kind, ...rest] = key.split(':') as [string, ...string[]];
  const arg = rest.join(':');
  const linux = { operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', licenseModel: 'No License required' };
  const rdsVolume: Record<string, string> = {
    io1: 'Provisioned IOPS',
    io2: 'Provisioned IOPS-IO2',
    gp3: 'General Purpose-GP3',
    gp2: 'General Purpose',
  };
  switch (kind) {
    case 'ec2': {
      const compute = { productFamily: 'Compute Instance', instanceType: arg, usagetype: `${prefix}BoxUsage:${arg}` };
      return [
        one('AmazonEC2', { ...compute, ...linux, capacitystatus: 'Used' }, 'Hrs'),
        one('AmazonEC2', { ...compute, ...linux, capacitystatus: 'UnusedCapacityReservation' }, 'Hrs'),
        one('AmazonEC2', { ...compute, ...linux, operatingSystem: 'Windows', capacitystatus: 'Used' }, 'Hrs', usd * 1.8),
      ];
    }
    case 'ebs':
      if (arg === 'snapshot') {
        return [
          one('AmazonEC2', { productFamily: 'Storage Snapshot', usagetype: `${prefix}EBS:SnapshotArchiveStorage` }, 'GB-Mo', usd / 4),
          one('AmazonEC2', { productFamily: 'Storage Snapshot', usagetype: `${prefix}EBS:SnapshotUsage` }, 'GB-Mo'),
        ];
      }
      if (arg === 'io1-iops')
        return [
          one(
            'AmazonEC2',
            { productFamily: 'System Operation', group: 'EBS IOPS', volumeApiName: 'io1', usagetype: `${prefix}EBS:VolumeP-IOPS.piops` },
            'IOPS-Mo',
          ),
        ];
      return [
        one(
          'AmazonEC2',
          { productFamily: 'Storage', volumeApiName: arg, usagetype: `${prefix}EBS:VolumeUsage.${arg === 'io1' ? 'piops' : arg}` },
          'GB-Mo',
        ),
      ];
    case 'ipv4':
      return [
        one('AmazonVPC', { productFamily: 'VPC Public IPv4 Address', usagetype: `${prefix}PublicIPv4:IdleAddress` }, 'Hrs'),
        one('AmazonVPC', { productFamily: 'VPC Public IPv4 Address', usagetype: `${prefix}PublicIPv4:InUseAddress` }, 'Hrs'),
      ];
    case 'nat':
      return [one('AmazonEC2', { productFamily: 'NAT Gateway', usagetype: `${prefix}NatGateway-Hours` }, 'Hrs')];
    case 'nat-gb':
      return [one('AmazonEC2', { productFamily: 'NAT Gateway', usagetype: `${prefix}NatGateway-Bytes` }, 'GB')];
    case 'nlb':
      return [one('AWSELB', { productFamily: 'Load Balancer-Network', usagetype: `${prefix}LoadBalancerUsage` }, 'Hrs')];
    case 'nlcu':
      return [one('AWSELB', { productFamily: 'Load Balancer-Network', usagetype: `${prefix}LCUUsage` }, 'LCU-Hrs')];
    case 'rds': {
      const instance = { productFamily: 'Database Instance', instanceType: arg, databaseEngine: 'PostgreSQL' };
      return [
        one('AmazonRDS', { ...instance, deploymentOption: 'Single-AZ', usagetype: `${prefix}InstanceUsage:${arg}` }, 'Hrs', usd / 2),
        one('AmazonRDS', { ...instance, deploymentOption: 'Multi-AZ', usagetype: `${prefix}Multi-AZUsage:${arg}` }, 'Hrs'),
      ];
    }
    case 'rds-storage': {
      const storage = { productFamily: 'Database Storage', volumeType: rdsVolume[arg]!, databaseEngine: 'PostgreSQL' };
      const tag = arg === 'io1' ? 'PIOPS' : arg.toUpperCase();
      return [
        one('AmazonRDS', { ...storage, deploymentOption: 'Single-AZ', usagetype: `${prefix}RDS:${tag}-Storage` }, 'GB-Mo', usd / 2),
        one('AmazonRDS', { ...storage, deploymentOption: 'Multi-AZ', usagetype: `${prefix}RDS:Multi-AZ-${tag}-Storage` }, 'GB-Mo'),
      ];
    }
    case 'rds-iops': {
      const tag = arg === 'io1' ? 'PIOPS' : `${arg.toUpperCase()}-PIOPS`;
      return [
        one(
          'AmazonRDS',
          {
            productFamily: 'Provisioned IOPS',
            databaseEngine: 'PostgreSQL',
            deploymentOption: 'Single-AZ',
            usagetype: `${prefix}RDS:${tag}`,
          },
          'IOPS-Mo',
          usd / 2,
        ),
        one(
          'AmazonRDS',
          {
            productFamily: 'Provisioned IOPS',
            databaseEngine: 'PostgreSQL',
            deploymentOption: 'Multi-AZ',
            usagetype: `${prefix}RDS:Multi-AZ-${tag}`,
          },
          'IOPS-Mo',
        ),
      ];
    }
    case 'cache': {
      const [engine, nodeType] = arg.split(':') as [string, string];
      const cacheEngine = engine === 'valkey' ? 'Valkey' : 'Redis';
      return [
        one(
          'AmazonElastiCache',
          { productFamily: 'Cache Instance', instanceType: nodeType, cacheEngine, usagetype: `${prefix}NodeUsage:${nodeType}` },
          'Hrs',
        ),
      ];
    }
    case 'alarm':
      return [
        one('AmazonCloudWatch', { productFamily: 'Alarm', usagetype: `${prefix}CW:HighResAlarmMonitorUsage` }, 'Alarms', usd * 3),
        one('AmazonCloudWatch', { productFamily: 'Alarm', usagetype: `${prefix}CW:AlarmMonitorUsage` }, 'Alarms'),
      ];
    default:
      return [];
  }
}

/** One product as GetProducts hands it out: a JSON string, prices as decimal strings, SKU-keyed terms. */
function toPriceListEntry(p: Product, index: number): string {
  const sku = `SANDBOX${String(index).padStart(6, '0')}${p.attributes.usagetype?.length ?? 0}`;
  const dimensions = (rate: string, tiers: Array<[string, number]>) =>
    Object.fromEntries(
      tiers.map(([begin, usd], i) => [
        `${sku}.${rate}.${i}`,
        {
          rateCode: `${sku}.${rate}.${i}`,
          unit: p.unit,
          beginRange: begin,
          endRange: tiers[i + 1]?.[0] ?? 'Inf',
          description: `$${usd} per ${p.unit} (${p.attributes.usagetype ?? p.attributes.productFamily})`,
          pricePerUnit: { USD: usd.toFixed(10) },
        },
      ]),
    );
  return JSON.stringify({
    product: { productFamily: p.attributes.productFamily, attributes: { servicecode: p.serviceCode, ...p.attributes }, sku },
    serviceCode: p.serviceCode,
    terms: {
      OnDemand: {
        [`${sku}.JRTCKXETXF`]: {
          offerTermCode: 'JRTCKXETXF',
          sku,
          effectiveDate: `${PRICE_TABLE_AS_OF}T00:00:00Z`,
          priceDimensions: dimensions('6YS6EN2CT7', p.tiers),
        },
      },
      // A one-year reservation is cheaper: a reader that does not keep to OnDemand would take it.
      Reserved: {
        [`${sku}.4NA7Y494T4`]: {
          offerTermCode: '4NA7Y494T4',
          sku,
          priceDimensions: dimensions(
            'Q7UJUT2CE6',
            p.tiers.map(([b, usd]) => [b, usd * 0.6]),
          ),
        },
      },
    },
    version: PRICE_TABLE_AS_OF.replaceAll('-', ''),
    publicationDate: `${PRICE_TABLE_AS_OF}T00:00:00Z`,
  });
}
