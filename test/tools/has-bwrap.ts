// Whether bubblewrap works here; sandbox tests skip without it (CI installs it). Not a test file.
import { spawnSync } from 'node:child_process';

export const hasBwrap = spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', 'true']).status === 0;
