import type { Relation } from '../graph-store.js';

/** Facts true at the query's time that touch any of `ids`, as subject or object, inside its scope. */
export type TouchingFacts = (ids: string[]) => Promise<Relation[]>;

/**
 * Breadth-first out to `hops` from `start`, one `touching` read per hop: every entity reached (the
 * start first) and every fact crossed. Both graph stores walk this way; only the read differs.
 */
export async function expandNeighbourhood(
  start: string,
  hops: number,
  touching: TouchingFacts,
): Promise<{ entityIds: string[]; relations: Relation[] }> {
  const seen = new Set([start]);
  const relations = new Map<string, Relation>();
  let frontier = [start];
  for (let hop = 0; hop < hops && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const fact of await touching(frontier)) {
      relations.set(fact.id, fact);
      for (const end of [fact.subjectId, fact.objectId]) {
        if (end !== undefined && !seen.has(end)) {
          seen.add(end);
          next.push(end);
        }
      }
    }
    frontier = next;
  }
  return { entityIds: [...seen], relations: [...relations.values()] };
}

/** The shortest undirected chain of entity-to-entity facts from `fromId` to `toId`, or null past `maxHops`. */
export async function findShortestPath(
  fromId: string,
  toId: string,
  maxHops: number,
  touching: TouchingFacts,
): Promise<Relation[] | null> {
  const via = new Map<string, { from: string; relation: Relation } | null>([[fromId, null]]);
  let frontier = [fromId];
  for (let hop = 0; hop < maxHops && frontier.length > 0 && !via.has(toId); hop++) {
    const inFrontier = new Set(frontier);
    const next: string[] = [];
    for (const fact of await touching(frontier)) {
      if (fact.objectId === undefined) continue;
      for (const [from, to] of [
        [fact.subjectId, fact.objectId],
        [fact.objectId, fact.subjectId],
      ] as const) {
        if (inFrontier.has(from) && !via.has(to)) {
          via.set(to, { from, relation: fact });
          next.push(to);
        }
      }
    }
    frontier = next;
  }
  if (!via.has(toId)) return null;
  const path: Relation[] = [];
  for (let step = via.get(toId); step; step = via.get(step.from)) path.unshift(step.relation);
  return path;
}
