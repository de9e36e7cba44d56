/** A proportion's confidence interval, as fractions in [0, 1]. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * The Wilson score interval for `passed` out of `total` (95% with the default z = 1.96). Unlike
 * p ± z·SE it stays inside [0, 1] and is honest for small suites and rates near 0 or 1.
 */
export function wilsonInterval(passed: number, total: number, z = 1.96): Interval {
  if (total === 0) return { low: 0, high: 1 };
  const p = passed / total;
  const z2 = z * z;
  const centre = (p + z2 / (2 * total)) / (1 + z2 / total);
  const half = (z / (1 + z2 / total)) * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
