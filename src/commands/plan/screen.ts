import type { AwsSession } from '../../aws/clients.js';
import type { InstallConfig } from '../../config/schema.js';
import { explain } from '../../aws/errors.js';
import {
  costItems,
  IMAGE_ROOT_GIB,
  monthlyCost,
  rootVolumesOf,
  USUAL_ROOT_VOLUMES,
  type MonthlyCost,
  type RootVolumes,
} from '../../pricing/cost.js';
import { ImageRefusal, lookUpImages, machineImagesOutputs } from '../../steps/machine-images.js';
import { priceListPrices } from '../../pricing/price-list.js';
import { builtInPrices, type Prices } from '../../pricing/prices.js';
import { GUIDE } from '../../steps/sections.js';
import { buildPlan, planLines, type PlanView } from '../../ui/plan.js';

export interface PlanScreen {
  view: PlanView;
  cost: MonthlyCost;
  lines: string[];
}

/**
 * The plan as `plan` prints it and `install` shows before its question: the same data, the same
 * words. Prices come from the Price List API when `pricing` can ask it (a real account, or the
 * sandbox's), from the built-in table otherwise, and the screen says which.
 */
export async function planScreen(input: {
  config: InstallConfig;
  sandbox: boolean;
  statusOf: (id: string) => string;
  account?: string | undefined;
  pricing: { clients: Pick<AwsSession, 'pricing' | 'clock'>; label: string } | { none: string };
  /**
   * Where the images' root volumes are read: the machine-images step's record, else the images it
   * would resolve, asked of `clients` (a real account, or the sandbox's); `none`: not asked, each
   * image family's usual size.
   */
  images: { clients: Pick<AwsSession, 'ec2' | 'ssm'>; recorded?: unknown } | { none: string };
}): Promise<PlanScreen> {
  const view = buildPlan(GUIDE, input.config, input.sandbox, input.statusOf, input.account);
  const { roots, note } = await rootVolumes(input.config, input.images);
  const keys = costItems(input.config, view, roots).map((item) => item.key);
  // The NAT gateways' data processing is usage: its per-GB price is quoted beside their hours.
  if (keys.includes('nat')) keys.push('nat-gb');
  const prices: Prices =
    'none' in input.pricing
      ? builtInPrices(input.config.region, input.pricing.none)
      : await priceListPrices(input.pricing.clients.pricing, input.config.region, keys, {
          label: input.pricing.label,
          clock: input.pricing.clients.clock,
        });
  const cost = monthlyCost(input.config, view, prices, roots);
  if (note) cost.notes.push(note);
  return { view, cost, lines: planLines(view, input.config, cost) };
}

/** How long the images may take to answer before the plan prices the usual sizes (the Price List's deadline). */
const IMAGES_DEADLINE_MS = 5_000;

/**
 * The root volumes the install's images really have: recorded by machine-images, else from
 * DescribeImages of the images it would resolve now; when they cannot be asked (offline, no
 * answer in time, an image answer preflight refuses), each family's usual size, and a note says so.
 */
async function rootVolumes(
  config: InstallConfig,
  images: { clients: Pick<AwsSession, 'ec2' | 'ssm'>; recorded?: unknown } | { none: string },
): Promise<{ roots: RootVolumes; note?: string }> {
  const usual = (why: string) => ({
    roots: USUAL_ROOT_VOLUMES,
    note: `root volumes at their images' usual sizes (official GitLab AMI ${IMAGE_ROOT_GIB.gitlab} GiB, Ubuntu ${IMAGE_ROOT_GIB.ubuntu} GiB): ${why}`,
  });
  if ('none' in images) return usual(images.none);
  const recorded = machineImagesOutputs.safeParse(images.recorded);
  if (recorded.success && recorded.data.gitlab.rootSizeGib !== undefined && recorded.data.bastion.rootSizeGib !== undefined) {
    return { roots: rootVolumesOf(recorded.data) };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      (async () => lookUpImages(await images.clients.ec2(), await images.clients.ssm(), config))(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${IMAGES_DEADLINE_MS / 1000} s`)), IMAGES_DEADLINE_MS);
        timer.unref();
      }),
    ]);
    return { roots: rootVolumesOf(found) };
  } catch (err) {
    return usual(err instanceof ImageRefusal ? err.refusal : `the region's images were not described (${explain(err).message})`);
  } finally {
    clearTimeout(timer);
  }
}
