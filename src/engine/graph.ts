/** The minimum the graph needs to know of a step. */
export interface Node {
  id: string;
  title: string;
  needs: readonly string[];
  minutes: number;
}

/** Checks that every need names a known step and that nothing needs itself, however indirectly. */
export function checkGraph(nodes: readonly Node[]): void {
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) {
    for (const need of node.needs) {
      if (!ids.has(need)) throw new Error(`step '${node.id}' needs unknown step '${need}'`);
    }
  }
  waves(nodes); // throws on a cycle
}

/**
 * Groups steps into waves: a step's wave is one past its latest need's. Steps in one wave can run
 * side by side; `plan` prints these, and the scheduler's order of starts follows them.
 */
export function waves<N extends Node>(nodes: readonly N[]): N[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (node: N): number => {
    const known = level.get(node.id);
    if (known !== undefined) return known;
    if (visiting.has(node.id)) throw new Error(`steps form a cycle through '${node.id}'`);
    visiting.add(node.id);
    const d = Math.max(-1, ...node.needs.map((id) => depth(byId.get(id)!))) + 1;
    visiting.delete(node.id);
    level.set(node.id, d);
    return d;
  };
  const result: N[][] = [];
  for (const node of nodes) (result[depth(node)] ??= []).push(node);
  return result;
}

/** The steps that need `id`, directly. Teardown destroys a step only after all of these. */
export function dependents<N extends Node>(nodes: readonly N[], id: string): N[] {
  return nodes.filter((n) => n.needs.includes(id));
}

/** The longest chain of typical durations: no schedule can finish sooner than this. */
export function criticalPathMinutes(nodes: readonly Node[]): number {
  return Math.max(0, ...[...earliestSchedule(nodes).values()].map((t) => t.finish));
}

/**
 * When each step can start and finish at the earliest, in typical minutes from the start: it starts
 * as soon as its last need finishes (the schedule the engine follows when nothing waits for a slot).
 */
export function earliestSchedule(nodes: readonly Node[]): Map<string, { start: number; finish: number }> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const times = new Map<string, { start: number; finish: number }>();
  const finish = (node: Node): number => {
    const known = times.get(node.id);
    if (known !== undefined) return known.finish;
    const start = Math.max(0, ...node.needs.map((id) => finish(byId.get(id)!)));
    times.set(node.id, { start, finish: start + node.minutes });
    return start + node.minutes;
  };
  nodes.forEach(finish);
  return times;
}
