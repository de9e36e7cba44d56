const secretKey = /(api[-_]?key|secret|secret[-_]?key|passw(or)?d|authorization|cookie|credentials?|token)$/i;
const secretValue = /\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|Bearer\s+[A-Za-z0-9._~+/-]{16,}=*)/g;

/**
 * Returns a deep copy with secret-looking keys and values replaced by "[redacted]".
 * Applied to every event and log record, so secrets never leave the process that holds them.
 */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return value.replace(secretValue, '[redacted]') as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redact(item, depth + 1)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = secretKey.test(key) && item != null && item !== '' ? '[redacted]' : redact(item, depth + 1);
  }
  return out as T;
}
