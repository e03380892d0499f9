import { cp } from 'node:fs/promises';
import { main } from '../src/cli.js';
import type { EngineEvent } from '../src/engine/events.js';
import { RecorderHost } from '../src/ui/recorder.js';
import type { Progress } from '../src/ui/host.js';

/**
 * The cheapest way to stop an install between two steps: `install --sandbox` run in this process,
 * interrupted (as Ctrl-C would) the moment every step of `after` has finished, so no step that
 * waits for them starts. Everything else that was running stops at a safe point, pending.
 */
export async function installUntil(dir: string, after: readonly string[], args: string[] = []) {
  const stop = new AbortController();
  const finished = new Set<string>();
  const host = new (class extends RecorderHost {
    override progress(): Progress {
      const inner = super.progress();
      return {
        sink: (event: EngineEvent) => {
          inner.sink(event);
          if (event.type !== 'step-finished' || !['done', 'verified'].includes(event.outcome)) return;
          finished.add(event.step);
          if (after.length && after.every((id) => finished.has(id))) stop.abort(new Error('test: stop here'));
        },
        close: inner.close,
      };
    }
    // --yes's answers to the wizard's questions; the confirmations as queued.
  })({ 'confirm-install': true, 'confirm-resume': true }, { otherwise: 'yes' });
  const code = await main(['install', '--sandbox', '--yes', '--state-dir', dir, ...args], host, stop.signal);
  return { code, host, stopped: stop.signal.aborted, failures: host.messages.filter((m) => m.code === 'step.failed').map((m) => m.text) };
}

/** A copy of a stopped install (its state file and sandbox world), to break one way without redoing the rest. */
export async function copyOf(source: string, target: string): Promise<string> {
  await cp(source, target, { recursive: true });
  return target;
}
