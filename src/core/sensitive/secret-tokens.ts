import { spans, whole, type Span } from './span.js';

/**
 * Provider keys recognisable by their prefix. Each mirrors the rule of gitleaks' default
 * configuration named beside it, lengths loosened a little so a format that grows still matches;
 * secretlint's recommended preset runs behind these as a second net (secretlint-net.ts).
 */
const PROVIDER_TOKENS: Readonly<Record<string, string>> = {
  openai_anthropic: 'sk-[A-Za-z0-9_-]{20,}', // openai-api-key, anthropic-api-key (sk-proj-, sk-ant-api03-, ...)
  aws_access_key_id: '(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}', // aws-access-token
  github: 'gh[opsur]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}', // github-pat, -oauth, -app-token, -refresh-token, -fine-grained-pat
  gitlab: 'gl(?:pat|dt|ptt|rt|cbt|imt|oas|ft|soat|agent)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,}', // gitlab-pat and siblings
  slack: 'xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-\\d-[A-Z0-9]+-\\d+-[a-z0-9]+', // slack-bot-token, -user-token, -app-token
  slack_webhook: 'hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{30,}', // slack-webhook-url
  huggingface: 'hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,}', // huggingface-access-token, -organization-api-token
  npm: 'npm_[A-Za-z0-9]{36}', // npm-access-token
  sendgrid: 'SG\\.[A-Za-z0-9_-]{16,32}\\.[A-Za-z0-9_-]{16,64}', // sendgrid-api-token
  stripe: '(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}|whsec_[A-Za-z0-9]{24,}', // stripe-access-token; webhook secrets
  google_api_key: 'AIza[A-Za-z0-9_-]{35}', // gcp-api-key
  google_oauth: 'GOCSPX-[A-Za-z0-9_-]{28}|ya29\\.[A-Za-z0-9_-]{20,}', // Google OAuth client secrets and access tokens
  azure_ad_client_secret: '[A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}', // azure-ad-client-secret
  jwt: 'eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}', // jwt
};

const names = Object.keys(PROVIDER_TOKENS);
const TOKENS = new RegExp(
  `(?<![A-Za-z0-9_~-])(?:${names.map((name) => `(?<${name}>${PROVIDER_TOKENS[name]})`).join('|')})(?![A-Za-z0-9_~-])`,
  'g',
);

/** A cheap test that must pass before the token scan is worth running. */
export const MAY_HOLD_TOKEN =
  /sk-|AKIA|ASIA|A3T|ABIA|ACCA|gh[opsur]_|github_pat|gl[a-z]{1,4}-|GR13|xox|xapp-|hooks\.slack|hf_|api_org_|npm_|SG\.|_live_|_test_|_prod_|whsec_|AIza|GOCSPX|ya29\.|\dQ~|eyJ/;

/** Provider keys and JWTs in `text`, with the name of the matching format. */
export function* providerTokens(text: string): Generator<{ span: Span; rule: string }> {
  let rule = '';
  const accept = (m: RegExpExecArray): Span | undefined => {
    rule = names.find((name) => m.groups?.[name] !== undefined) ?? 'token';
    // Generic prefixes (sk-, xox?-) also start hyphenated words; a real key has digits or one long run.
    if ((rule === 'openai_anthropic' || rule === 'slack') && !/\d/.test(m[0]) && !/[A-Za-z]{20}/.test(m[0]))
      return undefined;
    return whole(m);
  };
  for (const span of spans(TOKENS, text, accept)) yield { span, rule };
}

// A bare AWS secret access key: 40 base64 characters with both cases, a digit and a / or +.
const AWS_SECRET = /(?<![A-Za-z0-9+/=.-])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=-])/g;

/** Random, not a path: mixed case and a digit, and no segment that reads as a word or a number. */
const randomLike = (s: string) =>
  /[+/]/.test(s) &&
  /[A-Z].*[A-Z]/.test(s) &&
  /[a-z].*[a-z]/.test(s) &&
  /\d/.test(s) &&
  s.split(/[+/]/).every((part) => !/^(?:[A-Z]?[a-z]+|[A-Z]+|\d+)?$/.test(part));

/** 40-character keys shaped like AWS secret access keys, found without a name beside them. */
export function* bareAwsSecrets(text: string): Generator<Span> {
  yield* spans(AWS_SECRET, text, (m) => (randomLike(m[0]) ? whole(m) : undefined));
}
