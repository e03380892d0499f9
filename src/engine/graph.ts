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
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const memo = new Map<string, number>();
  const finish = (node: Node): number => {
    const known = memo.get(node.id);
    if (known !== undefined) return known;
    const start = Math.max(0, ...node.needs.map((id) => finish(byId.get(id)!)));
    memo.set(node.id, start + node.minutes);
    return start + node.minutes;
  };
  return Math.max(0, ...nodes.map(finish));
}
