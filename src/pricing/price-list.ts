import { sideBySide, wallClock, type Clock } from '../aws/clock.js';
import { setMaxListeners } from 'node:events';
import type { Filter, Pricing } from '@aws-sdk/client-pricing';
import { explain } from '../aws/errors.js';
import { builtInPrices, type Prices } from './prices.js';
import { PRICE_TABLE_AS_OF, type PriceKey } from './table.js';

/** One product of GetProducts' PriceList (each entry is a JSON string of this shape). */
export interface PriceListProduct {
  product: { productFamily?: string; attributes: Record<string, string>; sku?: string };
  serviceCode?: string;
  terms: {
    OnDemand?: Record<string, { priceDimensions: Record<string, { unit?: string; beginRange?: string; pricePerUnit: { USD?: string } }> }>;
  };
  publicationDate?: string;
}

/** How to find one priced item in the Price List: the service, the exact attributes, and which of the answers it is. */
interface Query {
  serviceCode: string;
  attributes: Record<string, string>;
  /** Among the products the attributes match, the one this item is (by its usage type, mostly). */
  pick?: (product: PriceListProduct) => boolean;
}

const usageEndsWith = (suffix: string) => (p: PriceListProduct) => (p.product.attributes.usagetype ?? '').endsWith(suffix);
const postgresOrAny = (p: PriceListProduct) => ['PostgreSQL', 'Any', undefined].includes(p.product.attributes.databaseEngine);

/** RDS names its storage by these volume types in the Price List. */
const RDS_VOLUME_TYPES: Record<string, string> = {
  io1: 'Provisioned IOPS',
  io2: 'Provisioned IOPS-IO2',
  gp3: 'General Purpose-GP3',
  gp2: 'General Purpose',
};
const CACHE_ENGINES: Record<string, string> = { redis: 'Redis', valkey: 'Valkey' };

/**
 * The Price List attributes of each item (as AWS's GetProducts filters name them, TERM_MATCH
 * only, regionCode for the region). Route 53's zones are global: no region.
 */
export function priceQuery(key: PriceKey, region: string): Query | undefined {
  const [kind, ...rest] = key.split(':') as [string, ...string[]];
  const arg = rest.join(':');
  const inRegion = { regionCode: region };
  switch (kind) {
    case 'ec2':
      return {
        serviceCode: 'AmazonEC2',
        attributes: {
          ...inRegion,
          instanceType: arg,
          operatingSystem: 'Linux',
          tenancy: 'Shared',
          preInstalledSw: 'NA',
          capacitystatus: 'Used',
          licenseModel: 'No License required',
        },
      };
    case 'ebs': {
      if (arg === 'snapshot')
        return {
          serviceCode: 'AmazonEC2',
          attributes: { ...inRegion, productFamily: 'Storage Snapshot' },
          pick: usageEndsWith('EBS:SnapshotUsage'),
        };
      if (arg === 'io1-iops')
        return {
          serviceCode: 'AmazonEC2',
          attributes: { ...inRegion, productFamily: 'System Operation', volumeApiName: 'io1', group: 'EBS IOPS' },
        };
      return { serviceCode: 'AmazonEC2', attributes: { ...inRegion, productFamily: 'Storage', volumeApiName: arg } };
    }
    case 'ipv4':
      return {
        serviceCode: 'AmazonVPC',
        attributes: { ...inRegion, productFamily: 'VPC Public IPv4 Address' },
        pick: usageEndsWith('PublicIPv4:InUseAddress'),
      };
    case 'nat':
      return {
        serviceCode: 'AmazonEC2',
        attributes: { ...inRegion, productFamily: 'NAT Gateway' },
        pick: usageEndsWith('NatGateway-Hours'),
      };
    case 'nat-gb':
      return {
        serviceCode: 'AmazonEC2',
        attributes: { ...inRegion, productFamily: 'NAT Gateway' },
        pick: usageEndsWith('NatGateway-Bytes'),
      };
    case 'nlb':
      return {
        serviceCode: 'AWSELB',
        attributes: { ...inRegion, productFamily: 'Load Balancer-Network' },
        pick: usageEndsWith('LoadBalancerUsage'),
      };
    case 'nlcu':
      return {
        serviceCode: 'AWSELB',
        attributes: { ...inRegion, productFamily: 'Load Balancer-Network' },
        pick: usageEndsWith('LCUUsage'),
      };
    case 'rds':
      return {
        serviceCode: 'AmazonRDS',
        attributes: {
          ...inRegion,
          productFamily: 'Database Instance',
          instanceType: arg,
          databaseEngine: 'PostgreSQL',
          deploymentOption: 'Multi-AZ',
        },
      };
    case 'rds-storage':
      if (!RDS_VOLUME_TYPES[arg]) return undefined;
      return {
        serviceCode: 'AmazonRDS',
        attributes: { ...inRegion, productFamily: 'Database Storage', volumeType: RDS_VOLUME_TYPES[arg]!, deploymentOption: 'Multi-AZ' },
        pick: postgresOrAny,
      };
    case 'rds-iops':
      return {
        serviceCode: 'AmazonRDS',
        attributes: { ...inRegion, productFamily: 'Provisioned IOPS', deploymentOption: 'Multi-AZ' },
        // io1's IOPS carry no volume type in their usage type; gp3's and io2's do.
        pick: (p) =>
          postgresOrAny(p) &&
          (arg === 'io1'
            ? !/GP3|IO2/i.test(p.product.attributes.usagetype ?? '')
            : (p.product.attributes.usagetype ?? '').toUpperCase().includes(arg.toUpperCase())),
      };
    case 'cache': {
      const [engine, nodeType] = arg.split(':') as [string, string];
      if (!CACHE_ENGINES[engine]) return undefined;
      return {
        serviceCode: 'AmazonElastiCache',
        attributes: { ...inRegion, productFamily: 'Cache Instance', instanceType: nodeType, cacheEngine: CACHE_ENGINES[engine]! },
      };
    }
    case 'zone':
      return { serviceCode: 'AmazonRoute53', attributes: { productFamily: 'DNS Zone' } };
    case 'alarm':
      return {
        serviceCode: 'AmazonCloudWatch',
        attributes: { ...inRegion, productFamily: 'Alarm' },
        pick: usageEndsWith('CW:AlarmMonitorUsage'),
      };
    default:
      return undefined;
  }
}

/** The On-Demand price of a product's first tier (Route 53's first 25 zones, say), in USD. */
export function onDemandPrice(product: PriceListProduct): number | undefined {
  for (const term of Object.values(product.terms.OnDemand ?? {})) {
    const dimensions = Object.values(term.priceDimensions);
    const first = dimensions.find((d) => (d.beginRange ?? '0') === '0') ?? dimensions[0];
    const usd = Number(first?.pricePerUnit.USD);
    if (first && Number.isFinite(usd)) return usd;
  }
  return undefined;
}

export interface PriceListOptions {
  /** What the answers are called in the plan: 'AWS Price List API', or the sandbox's. */
  label: string;
  /** The whole look-up's limit: the plan must not wait on an unreachable API. */
  timeoutMs?: number;
  /** The session's clock: each look-up on a timeline of its own (sideBySide), so sandbox times repeat. */
  clock?: Clock;
}

/**
 * Current prices from the Price List API for `keys`, each asked at once under one short deadline;
 * any item it does not answer comes from the built-in table (and the plan says which), and when it
 * answers nothing at all the table is used whole, with the reason. Never throws.
 */
export async function priceListPrices(
  pricing: () => Promise<Pricing>,
  region: string,
  keys: readonly PriceKey[],
  { label, timeoutMs = 5_000, clock = wallClock }: PriceListOptions,
): Promise<Prices> {
  const signal = AbortSignal.timeout(timeoutMs);
  const unique = [...new Set(keys)];
  // One deadline for every request (each attempt of each adds listeners): not a leak.
  setMaxListeners(10 + unique.length * 4, signal);
  const answers = await sideBySide(
    clock,
    unique.map((key) => () => lookUp(pricing, key, region, signal).then(settled, failed)),
  );
  const found = new Map<PriceKey, number>();
  let published = '';
  answers.forEach((answer, i) => {
    if (answer.status !== 'fulfilled' || !answer.value) return;
    found.set(unique[i]!, answer.value.price);
    if (answer.value.published > published) published = answer.value.published;
  });
  if (found.size === 0) {
    const failure = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    const reason = signal.aborted
      ? `no answer within ${timeoutMs / 1000} s`
      : failure
        ? explain(failure.reason).message
        : `it lists none of these products in ${region}`;
    return builtInPrices(region, `${label} not reachable: ${reason}`);
  }
  const table = builtInPrices(region);
  const missing = unique.filter((k) => !found.has(k));
  return {
    source: `${label}, ${published.slice(0, 10) || new Date().toISOString().slice(0, 10)}`,
    notes: missing.length
      ? [...table.notes, `from the built-in table of ${PRICE_TABLE_AS_OF} (the ${label} did not answer): ${missing.join(', ')}`]
      : [],
    listed: [...found.keys()],
    get: (key) => found.get(key) ?? table.get(key),
  };
}

async function lookUp(pricing: () => Promise<Pricing>, key: PriceKey, region: string, signal: AbortSignal) {
  const query = priceQuery(key, region);
  if (!query) return undefined;
  const client = await pricing();
  const Filters: Filter[] = Object.entries(query.attributes).map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value }));
  const { PriceList = [] } = await client.getProducts(
    { ServiceCode: query.serviceCode, Filters, FormatVersion: 'aws_v1', MaxResults: 100 },
    { abortSignal: signal },
  );
  const products = PriceList.map((entry: string) => JSON.parse(entry) as PriceListProduct).filter(
    (p: PriceListProduct) => !query.pick || query.pick(p),
  );
  for (const product of products) {
    const price = onDemandPrice(product);
    if (price !== undefined && price > 0) return { price, published: product.publicationDate ?? '' };
  }
  return undefined;
}

/** Promise.allSettled's shapes, for look-ups run side by side. */
const settled = <T>(value: T): PromiseSettledResult<T> => ({ status: 'fulfilled', value });
const failed = (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason });
