import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { buildInstallConfig } from '../src/config/schema.js';
import { buildPlan } from '../src/engine/plan.js';
import { costItems, monthlyCost } from '../src/pricing/cost.js';
import { priceListPrices } from '../src/pricing/price-list.js';
import { PRICE_TABLE, PRICE_TABLE_AS_OF, type PriceKey } from '../src/pricing/table.js';
import { builtInPrices } from '../src/pricing/prices.js';
import { GUIDE } from '../src/steps/sections.js';
import { tempDir } from './helpers.js';

const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' });
const plan = buildPlan(GUIDE, config, true, () => 'pending');
/** Every price the guide's defaults need, and the NAT gateways' per-GB figure the plan quotes. */
const KEYS: PriceKey[] = [...new Set(costItems(config, plan).map((i) => i.key)), 'nat-gb', 'zone'];
/** The defaults' monthly total at the built-in table's prices: what the Price List, serving the same figures, must give. */
const TABLE_TOTAL = monthlyCost(config, plan, builtInPrices('us-west-2')).total;

const sessions: AwsSession[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))));
});

async function sandboxSession(region = 'us-west-2'): Promise<AwsSession> {
  const session = await createAwsSession({ region, sandbox: { stateDir: await tempDir() } });
  sessions.push(session);
  return session;
}

describe('current prices from the Price List API (GetProducts), read from the sandbox', () => {
  test("every item of the defaults is read from the Price List's products: the OnDemand price of the right product", async () => {
    const aws = await sandboxSession();
    const prices = await priceListPrices(aws.pricing, 'us-west-2', KEYS, { label: 'sandbox Price List' });
    expect(prices.source).toBe(`sandbox Price List, ${PRICE_TABLE_AS_OF}`);
    expect([...(prices.listed ?? [])].sort()).toEqual([...KEYS].sort());
    expect(prices.notes).toEqual([]);
    // The sandbox lists the table's prices beside look-alikes (Windows, Single-AZ, idle addresses,
    // archive snapshots, high-resolution alarms, Reserved terms): the right one was picked each time.
    for (const key of KEYS) expect(prices.get(key), key).toBe(key === 'zone' ? 0.5 : PRICE_TABLE['us-west-2']![key]);
    expect(monthlyCost(config, plan, prices).total).toBe(TABLE_TOTAL);
    // The client asked where the API is: the sandbox answers GetProducts in us-east-1 only of these.
    expect(aws.builtClients()).toEqual(['pricing']);
  });

  test("a region's own figures: eu-central-1 from the Price List, not the US ones", async () => {
    const aws = await sandboxSession('eu-central-1');
    const prices = await priceListPrices(aws.pricing, 'eu-central-1', ['ec2:c5.2xlarge', 'nat', 'rds:db.m5.large'], {
      label: 'sandbox Price List',
    });
    expect([prices.get('ec2:c5.2xlarge'), prices.get('nat'), prices.get('rds:db.m5.large')]).toEqual([0.388, 0.052, 0.428]);
  });

  test('an item the Price List does not list comes from the table, and the plan says which', async () => {
    const aws = await sandboxSession();
    const prices = await priceListPrices(aws.pricing, 'us-west-2', ['ec2:c5.2xlarge', 'ec2:c7i.48xlarge'], { label: 'sandbox Price List' });
    expect(prices.listed).toEqual(['ec2:c5.2xlarge']);
    expect(prices.notes).toEqual([
      `from the built-in table of ${PRICE_TABLE_AS_OF} (the sandbox Price List did not answer): ec2:c7i.48xlarge`,
    ]);
    expect(prices.get('ec2:c7i.48xlarge')).toBeUndefined();
  });

  test('a region the Price List has no products for falls back to the table whole, with the reason', async () => {
    const aws = await sandboxSession('ap-southeast-2');
    const regional = KEYS.filter((k) => k !== 'zone'); // Route 53's zones are priced globally
    const prices = await priceListPrices(aws.pricing, 'ap-southeast-2', regional, { label: 'sandbox Price List' });
    expect(prices.source).toBe(
      `built-in table of ${PRICE_TABLE_AS_OF} (sandbox Price List not reachable: it lists none of these products in ap-southeast-2)`,
    );
    expect(prices.notes).toEqual(["the table holds no prices for ap-southeast-2: us-east-1's are shown (ap-southeast-2 may cost more)"]);
    expect(prices.get('ec2:c5.2xlarge')).toBe(PRICE_TABLE['us-east-1']!['ec2:c5.2xlarge']);
  });
});

describe("the sandbox's GetProducts, as the API answers it", () => {
  test('TERM_MATCH on any attribute, PriceList entries as JSON strings, pages by NextToken', async () => {
    const pricing = await (await sandboxSession()).pricing();
    const ask = (NextToken?: string) =>
      pricing.getProducts({
        ServiceCode: 'AmazonEC2',
        Filters: [
          { Type: 'TERM_MATCH', Field: 'instanceType', Value: 'c5.2xlarge' },
          { Type: 'TERM_MATCH', Field: 'location', Value: 'US West (Oregon)' },
        ],
        MaxResults: 2,
        ...(NextToken ? { NextToken } : {}),
      });
    const first = await ask();
    expect(first.PriceList).toHaveLength(2);
    const second = await ask(first.NextToken);
    expect(second.NextToken).toBeUndefined();
    const products = [...(first.PriceList as string[]), ...(second.PriceList as string[])].map(
      (entry) => JSON.parse(entry) as { product: { attributes: Record<string, string> }; terms: Record<string, unknown> },
    );
    // Linux, its unused-reservation twin and Windows: only one is what an instance costs.
    expect(products.map((p) => `${p.product.attributes.operatingSystem} ${p.product.attributes.capacitystatus}`).sort()).toEqual([
      'Linux UnusedCapacityReservation',
      'Linux Used',
      'Windows Used',
    ]);
    expect(products.every((p) => p.product.attributes.usagetype === 'USW2-BoxUsage:c5.2xlarge')).toBe(true);
    expect(Object.keys(products[0]!.terms).sort()).toEqual(['OnDemand', 'Reserved']);
    await expect(
      pricing.getProducts({ ServiceCode: 'AmazonEC2', Filters: [{ Type: 'TERM_MATCH', Field: 'instanceType', Value: 'x9.nope' }] }),
    ).resolves.toMatchObject({
      PriceList: [],
    });
  });
});

describe('when the Price List API cannot be reached, the table is used and the reason named', () => {
  test("the test setup's unroutable endpoint: the connection is refused, the table's prices are used", async () => {
    const aws = await createAwsSession({ region: 'us-west-2' });
    const prices = await priceListPrices(aws.pricing, 'us-west-2', KEYS, { label: 'AWS Price List API' });
    expect(prices.source).toMatch(
      new RegExp(`^built-in table of ${PRICE_TABLE_AS_OF} \\(AWS Price List API not reachable: .*ECONNREFUSED.*\\)$`),
    );
    expect(prices.listed).toBeUndefined();
    expect(monthlyCost(config, plan, prices).total).toBe(TABLE_TOTAL);
  });

  test('an API that never answers: the look-up gives up at its deadline and says so', async () => {
    const server = createServer(() => {}); // accepts, never answers
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const aws = await createAwsSession({ region: 'us-west-2' });
      const prices = await priceListPrices(aws.pricing, 'us-west-2', ['ec2:c5.2xlarge', 'nat'], {
        label: 'AWS Price List API',
        timeoutMs: 300,
      });
      expect(prices.source).toBe(`built-in table of ${PRICE_TABLE_AS_OF} (AWS Price List API not reachable: no answer within 0.3 s)`);
      expect(prices.get('nat')).toBe(0.045);
    } finally {
      process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});
