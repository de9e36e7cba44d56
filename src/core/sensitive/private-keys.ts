import { spans, whole, type Span } from './span.js';

// PEM armour in any case and spacing: "-----BEGIN RSA PRIVATE KEY-----", "----- begin  private key -----".
const PEM_BEGIN = /-{3,}[ \t]*BEGIN[ \t]+(?:[A-Z0-9]+[ \t]+){0,3}PRIVATE[ \t]+KEY(?:[ \t]+BLOCK)?[ \t]*-{3,}/gi;
const PEM_END = /-{3,}[ \t]*END[ \t]+(?:[A-Z0-9]+[ \t]+){0,3}PRIVATE[ \t]+KEY(?:[ \t]+BLOCK)?[ \t]*-{3,}/gi;
// What may follow a header when the END line was cut off: whole lines of base64 or PEM/PGP
// headers (Proc-Type: ...), the last one ending the text or a quoted string.
const BODY = /^(?:[ \t]*\r?\n[ \t]*(?:[A-Za-z0-9+/=]{4,}|[A-Za-z-]+:[^\r\n]*)?[ \t]*(?=\r?\n|\\?["'`]|$))*/;

/** PEM private key blocks, from BEGIN to END; a block cut off before END runs to its last body line. */
export function* pemBlocks(text: string): Generator<Span> {
  const ends = new RegExp(PEM_END.source, 'gi');
  // The next END marker, found once and reused while it lies ahead, so many headers without an
  // END cannot make the search quadratic. null: none left in the text.
  let end: RegExpExecArray | null | undefined;
  for (const [start, headerEnd] of spans(PEM_BEGIN, text, whole)) {
    if (end === undefined || (end !== null && end.index < headerEnd)) {
      ends.lastIndex = headerEnd;
      end = ends.exec(text);
    }
    // A later BEGIN before the END means this block was cut off: its body ends where that starts.
    const next = text.slice(headerEnd).search(/-{3,}[ \t]*BEGIN/i);
    if (end && (next === -1 || end.index <= headerEnd + next)) {
      yield [start, end.index + end[0].length];
    } else {
      const body = BODY.exec(text.slice(headerEnd, headerEnd + 16_384))![0];
      yield [start, headerEnd + body.trimEnd().length];
    }
  }
}

// PuTTY .ppk files: header line through Private-MAC (or the end of the private lines).
const PUTTY = /PuTTY-User-Key-File-\d+:[^\n]*(?:\r?\n(?!\r?\n)[^\n]*){0,80}/g;

/** PuTTY private key files, header to MAC. */
export function* puttyKeys(text: string): Generator<Span> {
  yield* spans(PUTTY, text, (m) => {
    const mac = /Private-MAC:[ \t]*[0-9a-fA-F]+/.exec(m[0]);
    return [m.index, m.index + (mac ? mac.index + mac[0].length : m[0].length)];
  });
}

// A DER SEQUENCE in base64 ("M..."): its first 16 characters are checked before the body is read,
// so many base64 lines that are not keys cost one short match each.
const DER_HEAD = /(?<![A-Za-z0-9+])M[A-Za-z0-9+/]{15}/g;
const DER_BODY = /(?:[A-Za-z0-9+/]|[ \t]*\r?\n[ \t]*){44,8000}={0,2}/y;

/**
 * Whether base64 starts a private key: SEQUENCE, a length, then INTEGER version 0 or 1, which
 * opens PKCS#1, PKCS#8 and SEC1 keys. Certificates and public keys open with a nested SEQUENCE.
 */
function isPrivateKeyDer(head: string): boolean {
  let bytes: string;
  try {
    bytes = atob(head);
  } catch {
    return false;
  }
  const code = (i: number) => bytes.charCodeAt(i);
  if (code(0) !== 0x30) return false;
  const lengthBytes = code(1) < 0x80 ? 0 : code(1) - 0x80;
  if (lengthBytes > 3) return false;
  const at = 2 + lengthBytes;
  return code(at) === 0x02 && code(at + 1) === 0x01 && code(at + 2) <= 0x01;
}

/** Private keys pasted as bare base64 DER, without their PEM armour: 60 characters or more. */
export function* bareDerKeys(text: string): Generator<Span> {
  const body = new RegExp(DER_BODY.source, DER_BODY.flags);
  yield* spans(DER_HEAD, text, (m) => {
    if (!isPrivateKeyDer(m[0])) return undefined;
    body.lastIndex = m.index + m[0].length;
    const rest = body.exec(text);
    return rest ? [m.index, body.lastIndex] : undefined;
  });
}
