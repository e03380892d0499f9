import { explain } from '../aws/errors.js';

/** Why the answers cannot build, and how to fix it: what every preflight check hands back. */
export interface Refusal {
  message: string;
  fix: string;
}

/**
 * A check's question to AWS: its refusal, or undefined when it holds. An AWS error while asking
 * (a missing permission, throttling) refuses too, in the operator's words (explain), since
 * building on an unanswered question only moves the failure into the install.
 */
export async function asking(
  what: string,
  profile: string | undefined,
  check: () => Promise<Refusal | undefined>,
): Promise<Refusal | undefined> {
  try {
    return await check();
  } catch (err) {
    const explained = explain(err, { profile });
    return { message: `cannot check ${what}: ${explained.message}`, fix: explained.fix ?? 'run it again' };
  }
}
