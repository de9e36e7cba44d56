/**
 * Writes a database connection holds back until its next commit (the runtime's store holds event,
 * journal and audit inserts so), and what applies them: a reader of that connection's tables calls
 * {@link applyHeldWrites} before it queries. Keyed by the connection object.
 */
const appliers = new WeakMap<object, () => void>();

/** Registers what applies the writes `db` holds back (one per connection). */
export function holdWrites(db: object, apply: () => void): void {
  appliers.set(db, apply);
}

/** Applies the writes `db` holds back, if any, so a query on it sees them. */
export function applyHeldWrites(db: object): void {
  appliers.get(db)?.();
}
