// What every browser test needs: the workspace's paths, a free port, and a real
// `vaka-server demo` on a fresh data folder. The binaries come from the workspace build
// (target/debug; VAKA_BIN_DIR overrides).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const bin = process.env.VAKA_BIN_DIR || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug');
export const screenshots = join(root, 'docs', 'screenshots');
/** The demo's password, the same for every demo sign-in. */
export const PASSWORD = 'vaka-demo-2026';

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * With VAKA_TEST_BACKEND=postgres, a fresh database in the test cluster (VAKA_TEST_POSTGRES, a URL
 * of its `postgres` database) and its URL; otherwise none, and the server keeps its SQLite store in
 * its data folder.
 */
export function freshDatabase() {
  if (process.env.VAKA_TEST_BACKEND !== 'postgres') return undefined;
  const cluster = process.env.VAKA_TEST_POSTGRES;
  if (!cluster) throw new Error('VAKA_TEST_BACKEND=postgres needs VAKA_TEST_POSTGRES (scripts/test starts a cluster)');
  const name = `vaka_browser_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  execFileSync('psql', [cluster, '-q', '-c', `CREATE DATABASE ${name}`]);
  return `${cluster.slice(0, cluster.lastIndexOf('/'))}/${name}`;
}

/** Drops a database `freshDatabase` made, even while its server still holds connections. */
export function dropDatabase(url) {
  const cluster = process.env.VAKA_TEST_POSTGRES;
  const name = url.slice(url.lastIndexOf('/') + 1);
  execFileSync('psql', [cluster, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
}

/** Starts `vaka-server demo` on a fresh data folder (or database); resolves with its URL and banner. */
export async function startServer(extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), 'vaka-browser-'));
  const database = freshDatabase();
  const port = await freePort();
  // The store's option for this server and every command run on it (`storeEnv`).
  const storeEnv = database ? { VAKA_DATABASE: database } : { VAKA_DATA: data };
  const child = spawn(join(bin, 'vaka-server'), [...extraArgs, 'demo', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...storeEnv, RUST_LOG: 'warn' },
  });
  let banner = '';
  child.stdout.on('data', (chunk) => { banner += chunk; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok && banner.includes('listening')) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`vaka-server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('vaka-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url, data, banner, child, storeEnv,
    stop() {
      child.kill('SIGTERM');
      rmSync(data, { recursive: true, force: true });
      if (database) dropDatabase(database);
    },
  };
}

/** Signs in on `page` as `login` with the demo password. */
export async function signIn(page, url, login) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}
