/**
 * An agent spec's fields and tools as they are now, after `extra`: compared with {@link sameFields} to tell
 * a spec passed again unchanged from one changed in place.
 */
export function specFields(spec: { tools?: readonly unknown[] }, ...extra: unknown[]): unknown[] {
  const fields = extra;
  for (const [key, value] of Object.entries(spec)) fields.push(key, value);
  fields.push(...(spec.tools ?? []));
  return fields;
}

/** Whether two {@link specFields} snapshots hold the same values. */
export function sameFields(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}
