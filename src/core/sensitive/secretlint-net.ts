import { rules as recommendedRules } from '@secretlint/secretlint-rule-preset-recommend';
import type { Span } from './span.js';

/**
 * secretlint's recommended preset as a second net behind cadre's own patterns: it follows new
 * provider formats (1Password, Vault, Vercel, Databricks, Grafana, Linear, Notion, Shopify...) as
 * the preset grows. Rules run through secretlint's public rule API (`create(context).file(source)`),
 * which reports synchronously from regexes; the GCP rule, which reads files, is left out.
 * Pinned at 12.0.0, the last release that runs on Node 20 (13.x needs Node 22).
 */
interface RuleContext {
  report(descriptor: { range: readonly [number, number] }): void;
  ignore(): void;
  createTranslator(): () => string;
  sharedOptions: Record<string, never>;
}
interface SecretlintRule {
  meta: { id: string; type?: string };
  create(context: RuleContext, options: Record<string, never>): { file?(source: SecretlintSource): unknown };
}
interface SecretlintSource {
  content: string;
  filePath: string;
  ext: string;
  contentType: 'text';
}

const SKIPPED = new Set(['@secretlint/secretlint-rule-gcp', '@secretlint/secretlint-rule-filter-comments']);
let reported: Span[] = [];
const context: RuleContext = {
  report: ({ range }) => void reported.push([range[0], range[1]]),
  ignore: () => undefined,
  // Messages would quote the secret; nothing here reads them.
  createTranslator: () => () => '',
  sharedOptions: {},
};
const scanners = (recommendedRules as unknown as SecretlintRule[])
  .filter((rule) => rule.meta.type === 'scanner' && !SKIPPED.has(rule.meta.id))
  .map((rule) => rule.create(context, {}).file)
  .filter((file): file is NonNullable<typeof file> => typeof file === 'function');

// Every preset rule matches a token of 20+ word characters, or credentials in a URL.
const MAY_MATCH = /[A-Za-z0-9_]{20}|:\/\/[^\s/@]*:[^\s/@]*@/;

/** Ends a reported range at the end of its token: some rules report where the match starts, not the secret. */
function toTokenEnd(text: string, [start, end]: Span): Span {
  let stop = end;
  while (stop < text.length && /[A-Za-z0-9+/=_.~-]/.test(text[stop]!)) stop++;
  return [start, stop];
}

/** Ranges that secretlint's recommended rules report in `text`. */
export function secretlintFindings(text: string): Span[] {
  if (!MAY_MATCH.test(text)) return [];
  reported = [];
  const source: SecretlintSource = { content: text, filePath: '', ext: '', contentType: 'text' };
  for (const file of scanners) {
    const result = file(source) as { catch?: (f: () => void) => void } | undefined;
    result?.catch?.(() => undefined);
  }
  const found = reported.map((span) => toTokenEnd(text, span));
  reported = [];
  return found;
}
