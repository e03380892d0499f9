import type { SandboxResource } from './core.js';
import { SANDBOX_SERVICES } from './services.js';
import type { World } from './world.js';

export type { SandboxResource };

/** Everything the sandbox account holds that still exists, seen from outside the program. */
export function inventory(world: World, now: number): SandboxResource[] {
  return Object.values(SANDBOX_SERVICES).flatMap((service) => service.inventory(world, now));
}
