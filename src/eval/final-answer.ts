/**
 * The part of an agent's reply a checker compares: what follows the last `Answer:` (or `Final
 * answer:`) at the start of a line, to the end; without one, the whole reply. Trimmed either way.
 */
export function finalAnswer(reply: string): string {
  const marks = [...reply.matchAll(/^[ \t>*_#-]*(?:final answer|answer)\**\s*[:：]\**[ \t]*/gim)];
  const last = marks.at(-1);
  const text = last ? reply.slice(last.index + last[0].length) : reply;
  return text.trim();
}

/** The number an answer states: the whole answer when it is one, else the last number in it (`1,250` reads 1250). */
export function numberIn(answer: string): number | undefined {
  const plain = answer.replace(/[$€£%\s]/g, '').replace(/(\d),(?=\d{3}\b)/g, '$1');
  if (plain !== '' && Number.isFinite(Number(plain))) return Number(plain);
  const numbers = [...answer.replace(/(\d),(?=\d{3}\b)/g, '$1').matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi)];
  const last = numbers.at(-1);
  return last ? Number(last[0]) : undefined;
}
