import { scopeLevels, type Scope } from '../scope.js';

/** Each key's scope, one shared object per distinct scope, so HNSW candidates are screened without SQLite. */
export class KeyScopes {
  private readonly scopes = new Map<number, Scope>();
  private readonly interned = new Map<string, Scope>();

  get(key: number): Scope | undefined {
    return this.scopes.get(key);
  }

  set(key: number, scope: Scope): void {
    this.scopes.set(key, this.intern(scope));
  }

  delete(key: number): void {
    this.scopes.delete(key);
  }

  private intern(scope: Scope): Scope {
    const name = JSON.stringify([scope.tenant, ...scopeLevels.map((l) => scope[l] ?? null)]);
    let shared = this.interned.get(name);
    if (!shared) this.interned.set(name, (shared = scope));
    return shared;
  }
}
