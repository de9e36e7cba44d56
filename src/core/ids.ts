import { randomUUID } from 'node:crypto';

/** A sortable, collision-free id: time prefix for ordering, random suffix for uniqueness. */
export function createId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${prefix}_${time}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
