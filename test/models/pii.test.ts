import { describe, expect, it } from 'vitest';
import { containsPii, detectPii, type PiiFinding, type PiiKind } from 'cadre/models';

// Secret-shaped fixtures are assembled at runtime so repository secret scanners do not take them
// for leaked credentials. None of them is a real key.
const j = (...parts: string[]) => parts.join('');
const pem = (label: string, body: string, end = true) =>
  j('-----BEGIN ', label, '-----\n', body, end ? j('\n-----END ', label, '-----') : '');
const body =
  'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yS2Hh0E8C/ZLyM4hR0aNqZ2b1sG3k8E4111111111111111Qz==';

const keys = {
  openaiProject: j('sk-', 'proj-', 'Xq7vT2mK9pL4sR8wN3bY6cJ1hF5dG0aZ'),
  openaiLegacy: j('sk-', '3Fk9aLq2Zp7Xw1Rt8Vb6Nm4Hc0Jd5Ge2Yu9Io7Kl'),
  anthropic: j('sk-', 'ant-', 'api03-Zx8Qw2Er5Ty7Ui9Op1As3Df4Gh6Jk8Lz0Xc2Vb4Nm6Qa-AbCd'),
  awsAccess: j('AKIA', 'IOSFODNN7EXAMPLE'),
  awsSession: j('ASIA', 'Y34FZKBOKMUTVV7A'),
  github: j('ghp_', '16C7e42F292c6912E7710c838347Ae178B4a'),
  githubFine: j('github_', 'pat_', '11ABCDEFG0123456789_abcdefghijKLMNOPQRSTuvwxyz0123456789'),
  slack: j('xox', 'b-', '2048151623-4815162342-AbCdEfGhIjKlMnOpQrStUvWx'),
  google: j('AIza', 'SyD4x9Qm2Lk7Vb3Nc8Zr1Tw6Yp5Ho0Ja-Ge'),
  stripe: j('sk_', 'live_', '51HqZx2KjP9wV7bN3mR8tY4c'),
  jwt: j(
    'eyJ',
    'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.',
    'eyJ',
    'zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.',
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ),
};

interface Sample {
  text: string;
  pii: { kind: PiiKind; value: string }[];
}

const positive = (kind: PiiKind, value: string, text: string): Sample => ({ text, pii: [{ kind, value }] });

const positives: Sample[] = [
  positive('email', 'jane.doe@example.com', 'Please send the signed contract to jane.doe@example.com before Friday.'),
  positive('email', 'j.smith+invoices@mail.example.co.uk', 'CC j.smith+invoices@mail.example.co.uk on every reply.'),
  positive('email', 'support@acme-corp.io', 'Our support desk is support@acme-corp.io, open 9 to 5.'),
  positive('email', 'bob.lee@example.net', 'From: "Bob Lee" <bob.lee@example.net>'),
  positive('email', 'alice_w@example.fr', 'Unsubscribe: mailto:alice_w@example.fr'),
  positive('email', 'HR.Team@Company.COM', 'Reach HR at HR.Team@Company.COM for payroll questions.'),
  positive('email', 'm.rossi1987@gmail.com', 'Her personal address, m.rossi1987@gmail.com, is on file.'),
  positive('email', 'privacy@example.org', 'Write to privacy@example.org: we answer within 30 days.'),
  positive(
    'email',
    'ops-oncall@status.my-company.travel',
    'ops-oncall@status.my-company.travel was paged at 03:12 UTC.',
  ),

  positive('phone', '+1 (555) 123-4567', 'Call me on +1 (555) 123-4567 after lunch.'),
  positive('phone', '+44 20 7946 0958', 'The London office is +44 20 7946 0958.'),
  positive('phone', '(555) 123-4567', 'US desk: (555) 123-4567, ask for Dana.'),
  positive('phone', '555-123-4567', 'Text 555-123-4567 when you arrive.'),
  positive('phone', '020 7946 0958', 'Ring the front desk on 020 7946 0958 if the door is locked.'),
  positive('phone', '06 12 34 56 78', 'Mon portable : 06 12 34 56 78, merci.'),
  positive('phone', '+49 30 12345678', 'Erreichbar unter +49 30 12345678 oder per Post.'),
  positive('phone', '1-800-555-0199', 'The toll-free line 1-800-555-0199 is open 24/7.'),
  positive('phone', '+91 98765 43210', 'Mobile +91 98765 43210 (WhatsApp too).'),
  positive('phone', '555.867.5309', 'Jenny, 555.867.5309, still has the keys.'),
  positive('phone', '07700 900123', 'Her mobile is 07700 900123.'),

  positive('card', '4111 1111 1111 1111', 'Charge it to 4111 1111 1111 1111, expiry 12/27.'),
  positive('card', '4012888888881881', 'card=4012888888881881&cvv=123'),
  positive('card', '5555555555554444', 'My Mastercard is 5555555555554444.'),
  positive('card', '378282246310005', 'The Amex 378282246310005 was declined.'),
  positive('card', '3782 822463 10005', 'Amex prints it as 3782 822463 10005 on the front.'),
  positive('card', '6011-1111-1111-1117', 'Discover: 6011-1111-1111-1117'),
  positive('card', '3530 1113 3330 0000', 'JCB test card 3530 1113 3330 0000 works in sandbox only.'),
  positive('card', '3056 930902 5904', 'Diners 3056 930902 5904 expires soon.'),
  positive('card', '2223 0031 2200 3222', 'The new Mastercard range: 2223 0031 2200 3222.'),
  positive('card', '4222222222222', 'Visa once issued 13 digits, like 4222222222222.'),
  positive('card', '6200000000000005', 'UnionPay 6200000000000005 is accepted too.'),

  positive(
    'iban',
    'DE89 3704 0044 0532 0130 00',
    'Please transfer the deposit to DE89 3704 0044 0532 0130 00 by Monday.',
  ),
  positive('iban', 'GB82 WEST 1234 5698 7654 32', 'IBAN: GB82 WEST 1234 5698 7654 32 (Westminster branch).'),
  positive('iban', 'FR14 2004 1010 0505 0001 3M02 606', 'Mon RIB : FR14 2004 1010 0505 0001 3M02 606.'),
  positive('iban', 'NL91ABNA0417164300', 'Rekening NL91ABNA0417164300 t.n.v. J. de Vries'),
  positive('iban', 'CH93 0076 2011 6238 5295 7', 'Zahlbar an CH93 0076 2011 6238 5295 7, Referenz 2024-17.'),
  positive('iban', 'NO93 8601 1117 947', 'Kontonummer NO93 8601 1117 947.'),
  positive('iban', 'BE68539007547034', 'iban=BE68539007547034'),
  positive('iban', 'ES91 2100 0418 4502 0005 1332', 'Cuenta ES91 2100 0418 4502 0005 1332 EUR'),
  positive(
    'iban',
    'IT60 X054 2811 1010 0000 0123 456',
    'Bonifico su IT60 X054 2811 1010 0000 0123 456 entro il 15/01/2024.',
  ),
  positive('iban', 'AT611904300234573201', 'AT611904300234573201 is the Vienna account.'),

  positive('api_key', keys.openaiProject, `export OPENAI_API_KEY=${keys.openaiProject}`),
  positive('api_key', keys.openaiLegacy, `The old key ${keys.openaiLegacy} still works, rotate it.`),
  positive('api_key', keys.anthropic, `client = Anthropic(api_key="${keys.anthropic}")`),
  positive('api_key', keys.awsAccess, `aws_access_key_id = ${keys.awsAccess}`),
  positive('api_key', keys.awsSession, `Temporary credentials start with ${keys.awsSession}.`),
  positive('api_key', keys.github, `git clone https://${keys.github}@github.com/acme/app.git`),
  positive('api_key', keys.githubFine, `GH_TOKEN: ${keys.githubFine}`),
  positive('api_key', keys.slack, `Slack bot token ${keys.slack} posts to #ops.`),
  positive('api_key', keys.google, `maps.js?key=${keys.google}&callback=init`),
  positive('api_key', keys.stripe, `Stripe.apiKey = '${keys.stripe}';`),
  positive('api_key', keys.jwt, `Authorization: Bearer ${keys.jwt}`),
  positive('api_key', 'Tr0ub4dor&3xyz', 'db_password = "Tr0ub4dor&3xyz"'),
  positive('api_key', '9f8e7d6c5b4a39281706', 'webhook:\n  secret: 9f8e7d6c5b4a39281706\n  url: /hooks'),
  positive('api_key', 'a1B2c3D4e5F6g7H8i9J0', 'AUTH_TOKEN=a1B2c3D4e5F6g7H8i9J0 npm start'),
  positive('api_key', 'Qm9vLWJvby1zZWNyZXQ9', '{"apiKey": "Qm9vLWJvby1zZWNyZXQ9", "region": "eu-west-1"}'),

  positive(
    'private_key',
    pem('RSA PRIVATE KEY', body),
    `Here is the deploy key:\n${pem('RSA PRIVATE KEY', body)}\nkeep it safe`,
  ),
  positive('private_key', pem('EC PRIVATE KEY', body), pem('EC PRIVATE KEY', body)),
  positive(
    'private_key',
    pem('OPENSSH PRIVATE KEY', body),
    `~/.ssh/id_ed25519 contains\n${pem('OPENSSH PRIVATE KEY', body)}`,
  ),
  positive(
    'private_key',
    pem('PGP PRIVATE KEY BLOCK', body),
    `Backup of my signing key: ${pem('PGP PRIVATE KEY BLOCK', body)}`,
  ),
  positive('private_key', pem('PRIVATE KEY', body), `const key = \`${pem('PRIVATE KEY', body)}\`;`),
  positive(
    'private_key',
    pem('ENCRYPTED PRIVATE KEY', body),
    `The PKCS#8 file:\n${pem('ENCRYPTED PRIVATE KEY', body)}`,
  ),
  positive('private_key', pem('DSA PRIVATE KEY', body), `legacy host key ${pem('DSA PRIVATE KEY', body)}`),
  positive(
    'private_key',
    pem('RSA PRIVATE KEY', body, false),
    `I pasted only part of it: ${pem('RSA PRIVATE KEY', body, false)}`,
  ),

  {
    text: 'Ticket from jane.doe@example.com: refund 4111 1111 1111 1111 to DE89 3704 0044 0532 0130 00, call +44 20 7946 0958.',
    pii: [
      { kind: 'email', value: 'jane.doe@example.com' },
      { kind: 'card', value: '4111 1111 1111 1111' },
      { kind: 'iban', value: 'DE89 3704 0044 0532 0130 00' },
      { kind: 'phone', value: '+44 20 7946 0958' },
    ],
  },
];

const negatives: string[] = [
  'The release shipped on 2024-01-15 and the hotfix on 15/01/2024 at 14:30:59.',
  'Meeting moved to 01.02.2024 12:30, room 4.12.',
  'Upgrade to v1.2.3, then Node 20.11.1 and Python 3.12.4.',
  'The server at 192.168.1.254 forwards to 10.0.0.1:8080 and 2001:db8::ff00:42:8329.',
  'Your order 123456789 ships tomorrow; invoice INV-2024-000123.',
  'Request id 123e4567-e89b-12d3-a456-426614174000 failed.',
  'Reverted commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (da39a3ee).',
  'sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'The card number 4111 1111 1111 1112 fails the checksum.',
  'A 16-digit reference 1234 5678 9012 3456 is not a card.',
  'Tracking number 1Z999AA10123456784 arrives Tuesday.',
  'IBAN DE88 3704 0044 0532 0130 00 has a wrong check digit.',
  'Also wrong: GB82 WEST 1234 5698 7654 33 and NL91ABNA0417164301.',
  'Prices went from $1,234,567.89 to € 12.345,67 and then 99.99 EUR.',
  'ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2 are in the catalogue.',
  'Between 1999 and 2024 the population grew to 8045311447.',
  'x = 2^32 = 4294967296, and 3 + 4 = 7, and 1e-9 < 0.000000001.',
  'Fibonacci: 1 1 2 3 5 8 13 21 34 55 89 144 233 377 610 987.',
  'Clone git@github.com:acme/repo.git or ssh://git@github.com/acme/repo.',
  'npm i lodash@4.17.21 @types/node@20.11.5 react@latest',
  'Add icon@2x.png and logo@3x.webp to the assets folder.',
  'The prompt shows user@localhost:~$ and root@db-01:~#.',
  'Use the @Component decorator and @Injectable() services.',
  'const token = process.env.GITHUB_TOKEN;',
  'api_key = os.environ["OPENAI_API_KEY"]',
  'Passwords must be at least 12 characters long.',
  'max_tokens = 4096 and temperature = 0.7',
  'PRIMARY KEY = (tenant_id, created_at)',
  'cache key = user:1234:profile:settings',
  'We use sk-learn-style-pipelines for feature engineering.',
  'api_key = your-api-key-here',
  'password: ************',
  'secret = ${VAULT_SECRET_PATH}',
  'sort_key = created_at_desc_2024',
  'The monkey = the-funniest-animal-here debate continues.',
  'Timestamps: 1705312200 (s) and 1705312200123 (ms).',
  'Ports 5432, 6379 and 27017 must be open; HTTP 404 then 503.',
  'MAC 00:1A:2B:3C:4D:5E on VLAN 120.',
  'Coordinates 48.8584, 2.2945 at zoom 15.',
  'Semver range ^1.2.3 || ~2.0.0 || >=3.0.0-beta.1',
  'Scores: 0.95 0.97 0.99 and 100 200 3000 ms.',
  'Screen 1920x1080 at 16:9, 60 Hz, 144 dpi.',
  'Invoice total 1 234 567,00 € due 30 days net.',
  'SWIFT DEUTDEFF500, sort code 20-00-00, account 55779911.',
  'Masked card **** **** **** 1111 on the receipt.',
  'Ranges 0 10 20 30 40 and 010-020-030 are fine.',
  'The base64 string SGVsbG8gV29ybGQhIQ== decodes to a greeting.',
  'Matrix [[1, 2], [3, 4]] has determinant -2.',
  'Chapter 11.3.2, page 1234, line 56.',
  'Build 2024.01.15.1234 passed in 12.5 s with 1,000,000 rows.',
  'The key: understanding the domain before the database.',
  'Compare ?whiskey=Glenfiddich18YearOld with ?whiskey=Lagavulin16YearOld',
  'password = $DB_PASSWORD_FROM_VAULT',
  'Sudoku grid row: 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1',
  'Requests per hour: 4111 11 11 11 11 11 11.',
  'Output reached 4 222 222 222 222 € last year, with thousands set apart by spaces.',
  'The legacy config lists 010.001.001.001 as the gateway.',
  'Fill the form with the placeholder 123-456-7890 for now.',
];

const spanOf = (text: string, value: string) => {
  const start = text.indexOf(value);
  if (start < 0) throw new Error(`fixture value not in its text: ${value.slice(0, 20)}`);
  return { start, end: start + value.length };
};
const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  a.start < b.end && b.start < a.end;
const kinds: PiiKind[] = ['email', 'phone', 'card', 'iban', 'api_key', 'private_key'];

interface Tally {
  labelled: number;
  found: number;
  truePositive: number;
  falsePositive: number;
}

function score(): Record<PiiKind | 'overall', Tally> {
  const tallies = Object.fromEntries(
    [...kinds, 'overall'].map((k) => [k, { labelled: 0, found: 0, truePositive: 0, falsePositive: 0 }]),
  ) as Record<PiiKind | 'overall', Tally>;
  const samples: Sample[] = [...positives, ...negatives.map((text) => ({ text, pii: [] }))];
  for (const { text, pii } of samples) {
    const labels = pii.map((p) => ({ kind: p.kind, ...spanOf(text, p.value) }));
    const findings = detectPii(text);
    for (const label of labels) {
      const found = findings.some((f) => f.kind === label.kind && overlaps(f, label));
      for (const t of [tallies[label.kind], tallies.overall]) {
        t.labelled++;
        if (found) t.found++;
      }
    }
    for (const finding of findings) {
      const right = labels.some((l) => l.kind === finding.kind && overlaps(finding, l));
      for (const t of [tallies[finding.kind], tallies.overall]) {
        if (right) t.truePositive++;
        else t.falsePositive++;
      }
    }
  }
  return tallies;
}

const precision = (t: Tally) =>
  t.truePositive + t.falsePositive === 0 ? 1 : t.truePositive / (t.truePositive + t.falsePositive);
const recall = (t: Tally) => (t.labelled === 0 ? 1 : t.found / t.labelled);

describe('detectPii on a labelled set', () => {
  it('has enough samples: 8+ positives per kind and 40+ negatives', () => {
    for (const kind of kinds)
      expect(positives.filter((s) => s.pii.some((p) => p.kind === kind)).length, kind).toBeGreaterThanOrEqual(8);
    expect(negatives.length).toBeGreaterThanOrEqual(40);
  });

  it('reaches precision and recall of 0.95 overall and recall of 0.9 for every kind', () => {
    const tallies = score();
    const rows = ([...kinds, 'overall'] as const).map((k) => {
      const t = tallies[k];
      return `${k.padEnd(12)} ${precision(t).toFixed(3).padStart(9)} ${recall(t).toFixed(3).padStart(7)} ${String(t.labelled).padStart(8)} ${String(t.truePositive + t.falsePositive).padStart(8)}`;
    });
    // eslint-disable-next-line no-console -- the detector's quality figures are this test's report
    console.info(['kind         precision  recall labelled findings', ...rows].join('\n'));
    expect(precision(tallies.overall)).toBeGreaterThanOrEqual(0.95);
    expect(recall(tallies.overall)).toBeGreaterThanOrEqual(0.95);
    for (const kind of kinds) expect(recall(tallies[kind]), kind).toBeGreaterThanOrEqual(0.9);
  });

  it('finds nothing in ordinary text full of dates, versions, hashes, prices and look-alikes', () => {
    const flagged = negatives
      .map((text) => ({ text, findings: detectPii(text).map((f) => `${f.kind}: ${text.slice(f.start, f.end)}`) }))
      .filter((n) => n.findings.length > 0);
    expect(flagged).toEqual([]);
  });

  it('gives the same answer from containsPii as from detectPii over the whole set', () => {
    for (const text of [...positives.map((s) => s.text), ...negatives]) {
      expect(containsPii(text), text.slice(0, 60)).toBe(detectPii(text).length > 0);
      for (const kind of kinds)
        expect(containsPii(text, { kinds: [kind] })).toBe(detectPii(text, { kinds: [kind] }).length > 0);
    }
  });
});

describe('detectPii findings', () => {
  const text =
    'Mail jane.doe@example.com or call +44 20 7946 0958; pay 4111 1111 1111 1111 or DE89 3704 0044 0532 0130 00. token = a1B2c3D4e5F6g7H8';

  it('points its offsets exactly at each value, in order', () => {
    expect(detectPii(text).map((f) => [f.kind, text.slice(f.start, f.end)])).toEqual([
      ['email', 'jane.doe@example.com'],
      ['phone', '+44 20 7946 0958'],
      ['card', '4111 1111 1111 1111'],
      ['iban', 'DE89 3704 0044 0532 0130 00'],
      ['api_key', 'a1B2c3D4e5F6g7H8'],
    ]);
  });

  it('carries offsets only, never the matched value', () => {
    for (const finding of detectPii(text)) expect(Object.keys(finding).sort()).toEqual(['end', 'kind', 'start']);
  });

  it('looks only for the kinds asked for', () => {
    expect(detectPii(text, { kinds: ['card', 'email'] }).map((f: PiiFinding) => f.kind)).toEqual(['email', 'card']);
    expect(containsPii('write to jane.doe@example.com', { kinds: ['card', 'phone'] })).toBe(false);
    expect(containsPii('write to jane.doe@example.com', { kinds: ['email'] })).toBe(true);
  });

  it('keeps a card found next to another number group, and a whole key block as one finding', () => {
    const card = 'paid with 4111 1111 1111 1111 2024 receipt';
    expect(detectPii(card).map((f) => card.slice(f.start, f.end))).toEqual(['4111 1111 1111 1111']);
    const block = pem('RSA PRIVATE KEY', body);
    expect(detectPii(`key:\n${block}\n`)).toEqual([{ kind: 'private_key', start: 5, end: 5 + block.length }]);
  });

  it('reports a value claimed twice, or by two kinds, once and as the stronger kind', () => {
    const assigned = `OPENAI_API_KEY=${keys.openaiProject}`;
    expect(detectPii(assigned)).toEqual([{ kind: 'api_key', start: 15, end: assigned.length }]);
    const armoured = pem('PGP PRIVATE KEY BLOCK', `Comment: alice@example.com\n\n${body}`);
    expect(detectPii(armoured)).toEqual([{ kind: 'private_key', start: 0, end: armoured.length }]);
    // The whole remote also reads as an e-mail address that starts before the token.
    const remote = `push to deploy.${keys.github}@github.com`;
    expect(detectPii(remote).map((f) => [f.kind, remote.slice(f.start, f.end)])).toEqual([['api_key', keys.github]]);
  });

  it('does not take an IBAN out of a longer code', () => {
    expect(detectPii('Build DE89370400440532013000AB7 is cached.', { kinds: ['iban'] })).toEqual([]);
    expect(detectPii('Build DE89370400440532013000 AB7 is cached.', { kinds: ['iban'] })).toHaveLength(1);
  });

  it('returns on 100 KB of ordinary prose and on long runs of look-alike characters', () => {
    let prose = '';
    for (let i = 0; prose.length < 100_000; i++) prose += `${negatives[i % negatives.length]} `;
    expect(detectPii(prose)).toEqual([]);
    expect(containsPii(prose)).toBe(false);
    for (const noise of [
      '1 '.repeat(50_000),
      '@a.'.repeat(33_000),
      'A'.repeat(100_000),
      'key = '.repeat(16_000),
      '+1 '.repeat(33_000),
      '-----BEGIN RSA PRIVATE KEY-----'.repeat(3_000),
    ]) {
      expect(Array.isArray(detectPii(noise))).toBe(true);
    }
  });
});
