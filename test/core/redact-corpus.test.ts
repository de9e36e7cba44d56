import { describe, expect, it } from 'vitest';
import { redact, redactText } from 'cadre';
import { negativeLines, secretOnlySamples, type Sample } from '../fixtures/sensitive/index.js';

/** Every 12-character window of the value, raw and as JSON escapes it: a leak of any part shows. */
function fragments(value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1)];
  return forms.flatMap((form) =>
    form.length <= 12
      ? [form]
      : Array.from({ length: Math.ceil((form.length - 12) / 4) + 1 }, (_, i) => form.slice(i * 4, i * 4 + 12)),
  );
}

const urlSafe = (value: string) => /^[\w.~+/=%-]+$/.test(value);

/** The sample placed in nested objects, arrays, free text, a URL, error objects and JSON inside a string. */
function payloads({ text, value, contextual }: Sample): unknown[] {
  const out: unknown[] = [
    { type: 'tool.result', run: { steps: [{ output: { content: text } }] } },
    ['first', [text], 'last'],
    `Tool said:\n${text}\nDone.`,
    { error: new Error(`request failed: ${text}`) },
    { error: { message: `Error: ${text}`, stack: `Error: ${text}\n    at call (/srv/app/dist/tool.js:12:7)` } },
    { body: JSON.stringify({ data: { text } }) },
  ];
  if (urlSafe(value)) out.push({ url: `https://example.com/callback?state=42&token=${value}` });
  // A value known only by its context (`password: ...`) is a random string once taken out of it.
  if (urlSafe(value) && !contextual) out.push(`see https://api.example.com/v1/items/${value}?page=2`);
  return out;
}

describe('redact on a corpus of secrets in every supported format', () => {
  const samples = secretOnlySamples();

  it('leaves no part of any secret in JSON.stringify of the result, wherever the secret was placed', () => {
    const leaks: string[] = [];
    let placements = 0;
    for (const sample of samples) {
      for (const payload of payloads(sample)) {
        placements++;
        const out = JSON.stringify(redact(payload));
        if (fragments(sample.value).some((f) => out.includes(f))) leaks.push(`${sample.form}: ${out.slice(0, 160)}`);
      }
    }
    // eslint-disable-next-line no-console -- the corpus size is part of this test's report
    console.info(
      `redaction corpus: ${samples.length} secrets of ${new Set(samples.map((s) => s.form)).size} forms in ${placements} placements, ${leaks.length} leaks`,
    );
    expect(leaks).toEqual([]);
  });

  it('changes at most 1% of ordinary lines of prose and code', () => {
    const lines = negativeLines();
    const changed = lines.filter((line) => redactText(line) !== line);
    // eslint-disable-next-line no-console -- the false-positive rate is part of this test's report
    console.info(`redaction of ${lines.length} ordinary lines: ${changed.length} changed`, changed);
    expect(changed.length / lines.length).toBeLessThanOrEqual(0.01);
  });
});
