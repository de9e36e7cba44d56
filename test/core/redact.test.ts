import { describe, expect, it } from 'vitest';
import { redact, redactText } from 'cadre';

// Secret-shaped fixtures are assembled at run time so repository secret scanners do not take them
// for leaked credentials. None of them is a real key.
const j = (...parts: string[]) => parts.join('');
const github = j('ghp_', '16C7e42F292c6912E7710c838347Ae178B4a');
const pem = j(
  '-----BEGIN RSA ',
  'PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA ',
  'PRIVATE KEY-----',
);

describe('redactText', () => {
  it.each([
    ['postgres://app:Tr0ub4dor-3x@db.example.com:5432/app', 'postgres://app:[redacted]@db.example.com:5432/app'],
    ['GET /me?access_token=Zx8Qw2Er5Ty7Ui9Op1As&fields=id,name', 'GET /me?access_token=[redacted]&fields=id,name'],
    [
      'https://x.blob.core.windows.net/c/f?sv=2022-11-02&sig=k3Jd8sLq0Zp7Xw1Rt8Vb6Nm%3D',
      'https://x.blob.core.windows.net/c/f?sv=2022-11-02&sig=[redacted]',
    ],
    [
      'AccountName=acme;AccountKey=a1B2c3D4e5F6g7H8i9J0kLmN==;EndpointSuffix=core.windows.net',
      'AccountName=acme;AccountKey=[redacted];EndpointSuffix=core.windows.net',
    ],
    [
      'Server=db;User ID=app;Password=hunter2-hunter2;Encrypt=true',
      'Server=db;User ID=app;Password=[redacted];Encrypt=true',
    ],
    ['Authorization: Basic dXNlcjpwYXNzd29yZA==', 'Authorization: [redacted]'],
    ['use Bearer abcdefghijklmnopqrstuvwxyz012345 please', 'use [redacted] please'],
    ['database:\n  password: s3cr3t!pw\n  host: db', 'database:\n  password: [redacted]\n  host: db'],
    [`git clone https://${github}@github.com/acme/app.git`, 'git clone https://[redacted]@github.com/acme/app.git'],
    [`key:\n${pem}\nkeep it safe`, 'key:\n[redacted]\nkeep it safe'],
  ])('keeps the text readable and replaces only the secret in %j', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it('leaves text without a secret as it is, the same string', () => {
    for (const text of [
      'run.started',
      'Summarise the report for 2024-03-15.',
      'https://example.com/docs?page=3',
      'const token = process.env.GITHUB_TOKEN;',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('returns on long runs of look-alike text, leaving what holds no secret as it was', () => {
    for (const noise of [
      'key='.repeat(25_000),
      'password: '.repeat(10_000),
      ('M' + 'A'.repeat(63) + '\n').repeat(1_500),
      '-----BEGIN RSA PRIVATE KEY-----'.repeat(3_000),
      'https://a:b@'.repeat(8_000),
      'A'.repeat(100_000),
    ]) {
      expect(typeof redactText(noise)).toBe('string');
    }
    expect(redactText('key='.repeat(25_000))).toBe('key='.repeat(25_000));
  });

  it('finds a secret split by a zero-width space and cuts at the original offsets', () => {
    const hidden = `token ${github.slice(0, 10)}\u200b${github.slice(10)} end`;
    expect(redactText(hidden)).toBe('token [redacted] end');
  });
});

describe('redact', () => {
  it('replaces whole values under secret-named keys, in any naming style', () => {
    const input = {
      password: 'x',
      apiKey: 'k-1',
      'x-api-key': 'k-2',
      client_secret: 'c',
      Authorization: 'Bearer t',
      privateKey: { pem: 'p' },
      accessToken: 'a',
      AccountKey: 'b',
      passphrase: 'p',
      connectionString: 's',
      cookie: 'c=1',
      maxTokens: 5,
      user: 'ann',
      isSecret: true,
    };
    expect(redact(input)).toEqual({
      password: '[redacted]',
      apiKey: '[redacted]',
      'x-api-key': '[redacted]',
      client_secret: '[redacted]',
      Authorization: '[redacted]',
      privateKey: '[redacted]',
      accessToken: '[redacted]',
      AccountKey: '[redacted]',
      passphrase: '[redacted]',
      connectionString: '[redacted]',
      cookie: '[redacted]',
      maxTokens: 5,
      user: 'ann',
      isSecret: true,
    });
  });

  it('does not change its input', () => {
    const input = { args: { url: `https://u:${github}@h/x`, list: [github] } };
    const copy = structuredClone(input);
    redact(input);
    expect(input).toEqual(copy);
  });

  it('keeps an error readable, with its message redacted', () => {
    const out = redact({ error: new TypeError(`fetch failed for postgres://app:Tr0ub4dor-3x@db/prod`) });
    expect(out).toEqual({
      error: { name: 'TypeError', message: 'fetch failed for postgres://app:[redacted]@db/prod' },
    });
  });

  it('stops at cycles and at great depth with the marker, passing nothing on unread', () => {
    const cyclic: Record<string, unknown> = { note: github };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ note: '[redacted]', self: '[redacted]' });
    let deep: unknown = github;
    for (let i = 0; i < 50; i++) deep = [deep];
    expect(JSON.stringify(redact(deep))).not.toContain(github);
  });
});
