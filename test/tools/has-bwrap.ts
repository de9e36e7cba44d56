// Whether bubblewrap works here; sandbox tests skip without it, saying why, and fail under CI=true
// (CI installs it: see requireHere). Not a test file.
import { spawnSync } from 'node:child_process';

export const hasBwrap = spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', 'true']).status === 0;
