/** Detection of secrets and personal data, shared by redaction (core) and the PII router (models). */
export * from './find-sensitive.js';
export * from './find-secrets.js';
export { prepareForScan, type ScanText } from './normalize.js';
