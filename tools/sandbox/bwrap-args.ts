/**
 * Why an allowlist (bind only what a program needs) and not `--ro-bind / /` with tmpfs over secret
 * places: a denylist leaks whatever it forgot — other users' homes, /root, /srv, /opt, /var/lib,
 * credentials in /etc (shadow, ssh host keys) and, worst, Unix sockets such as /run/docker.sock or
 * PostgreSQL's, which a read-only bind still lets a process connect to even without a network.
 * Starting from an empty root, a forgotten path is simply missing.
 */

/** The host's system folders, bound read-only; on merged-/usr systems /bin, /lib… are symlinks into /usr. */
export const systemDirs = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The parts of /etc programs need to load, look up users, resolve names and check TLS; none holds a secret. */
const systemEtc = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/resolv.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/mime.types',
  // Certificates only: /etc/ssl/private and /etc/pki/tls/private hold keys, readable to a root caller.
  '/etc/ssl/certs',
  '/etc/ssl/openssl.cnf',
  '/etc/ca-certificates',
  '/etc/pki/ca-trust',
  '/etc/pki/tls/certs',
  '/etc/crypto-policies',
];

/** Everything the arguments depend on, with every path absolute and real (symlinks resolved). */
export interface BwrapPlan {
  network: boolean;
  /** System folders that are symlinks here (`/bin` → `usr/bin`), recreated as such. */
  systemLinks: ReadonlyMap<string, string>;
  /** System folders that are real folders here. */
  systemFolders: readonly string[];
  read: readonly string[];
  write: readonly string[];
  /** Existing home folders: each becomes an empty private tmpfs; granted folders inside reappear. */
  homes: readonly string[];
  /** Existing paths masked with an empty tmpfs, even inside a granted folder. */
  hide: readonly string[];
  cwd: string;
  file: string;
  args: readonly string[];
}

type Mount = { kind: 'ro' | 'ro-try' | 'rw' | 'tmpfs'; path: string };

const depth = (path: string): number => path.split('/').filter(Boolean).length;
const flags: Record<Mount['kind'], string> = {
  ro: '--ro-bind',
  'ro-try': '--ro-bind-try',
  rw: '--bind',
  tmpfs: '--tmpfs',
};

/**
 * The bwrap arguments that run `plan.file` in a sandbox. Mounts are applied shallowest first, so a
 * deeper mount always wins inside its folder: the workspace reappears inside the masked home, and
 * the data dir is masked again inside the workspace.
 */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const mounts: Mount[] = [
    ...plan.systemFolders.map((path): Mount => ({ kind: 'ro', path })),
    ...systemEtc.map((path): Mount => ({ kind: 'ro-try', path })),
    { kind: 'tmpfs', path: '/tmp' },
    ...plan.homes.map((path): Mount => ({ kind: 'tmpfs', path })),
    ...plan.read.map((path): Mount => ({ kind: 'ro', path })),
    ...plan.write.map((path): Mount => ({ kind: 'rw', path })),
    ...plan.hide.map((path): Mount => ({ kind: 'tmpfs', path })),
  ];
  // Array.prototype.sort is stable: at equal depth the order above holds (a write grant beats a read one).
  mounts.sort((a, b) => depth(a.path) - depth(b.path));
  return [
    // New user, PID, IPC, UTS, cgroup and network namespaces; the host's network only when allowed.
    '--unshare-all',
    ...(plan.network ? ['--share-net'] : []),
    '--die-with-parent',
    // A new session: the program cannot push keystrokes into our terminal (TIOCSTI).
    '--new-session',
    // Run as root, bwrap would leave capabilities, and CAP_SYS_ADMIN could remount the system writable.
    '--cap-drop',
    'ALL',
    ...[...plan.systemLinks].flatMap(([path, target]) => ['--symlink', target, path]),
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    ...mounts.flatMap(({ kind, path }) => (kind === 'tmpfs' ? [flags[kind], path] : [flags[kind], path, path])),
    // The sandbox's own root (where /etc and the mount points live) is read-only too.
    '--remount-ro',
    '/',
    '--chdir',
    plan.cwd,
    '--',
    plan.file,
    ...plan.args,
  ];
}
