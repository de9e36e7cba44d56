import type { Span } from './span.js';

// Local part: a dot-atom in any script (o'brien, but a leading ' is a quote mark), or a quoted
// string ("ana lopez"@example.com).
const LOCAL = String.raw`(?:"[^"\\\r\n]{1,62}"|[\p{L}\p{N}_%+-][\p{L}\p{M}\p{N}._%+'-]{0,63})`;
// Domain: labels in any script (IDN) or punycode, ending in a TLD of letters; or localhost.
const LABEL = String.raw`[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?`;
const DOMAIN = String.raw`(?:(?:${LABEL}\.){1,8}(?:\p{L}[\p{L}\p{M}]{1,23}|xn--[a-z0-9-]{2,59})|localhost)`;
const EMAIL = new RegExp(
  String.raw`(?<![\p{L}\p{N}._%+-])${LOCAL}@${DOMAIN}(?![\p{L}\p{M}\p{N}-]|\.[\p{L}\p{N}])`,
  'gu',
);
const LOCAL_CHAR = /[\p{L}\p{M}\p{N}._%+'-]/u;
const FILE_EXTENSION = /\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|cjs|ts|tsx|css|json|html?|txt|pdf|md)$/i;

/**
 * E-mail addresses. Addresses that only look like one are skipped: an scp-style git remote
 * (`git@github.com:org/repo`, the `:` followed at once by a path), a shell prompt
 * (`ana@localhost:~$`), URL userinfo (`ssh://git@host/...`) and `icon@2x.png` name an account
 * or a file, not a person to write to. An address before ": " ("write to bob@example.com: ...") counts.
 */
export function* emails(text: string): Generator<Span> {
  // Matched from where the local part before each @ starts: most text has no @, and the pattern
  // is costly to try at every position.
  const re = new RegExp(EMAIL.source, 'uy');
  for (let at = text.indexOf('@'), from = 0; at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    if (text[at - 1] === '"') start = text.lastIndexOf('"', at - 2);
    else while (start > from && at - start < 65 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    while (start < at && /['.]/.test(text[start]!)) start++;
    if (start < from || start === at) continue;
    re.lastIndex = start;
    const m = re.exec(text);
    if (!m) continue;
    const end = start + m[0].length;
    from = end;
    at = end - 1;
    if (text[end] === ':' && /[^\s]/.test(text[end + 1] ?? ' ')) continue;
    if (text.endsWith('//', start) || /:\/\/[^\s/@]*$/.test(text.slice(Math.max(0, start - 64), start))) continue;
    if (FILE_EXTENSION.test(m[0])) continue;
    yield [start, end];
  }
}
