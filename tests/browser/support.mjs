// What every browser test needs: the workspace's paths, a free port, and a real
// `vaka-server demo` on a fresh data folder. The binaries come from the workspace build
// (target/debug; VAKA_BIN_DIR overrides).

import { spawn } from 'node:child_process';
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

/** Starts `vaka-server demo` on a fresh data folder; resolves with its URL and banner. */
export async function startServer(extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), 'vaka-browser-'));
  const port = await freePort();
  const child = spawn(join(bin, 'vaka-server'), ['--data', data, ...extraArgs, 'demo', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn' },
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
    url, data, banner, child,
    stop() { child.kill('SIGTERM'); rmSync(data, { recursive: true, force: true }); },
  };
}

/** Signs in on `page` as `login` with the demo password. */
export async function signIn(page, url, login) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}
