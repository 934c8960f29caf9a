// Browser end-to-end tests: builds the SPA and the server when missing or stale, starts the built
// server on a free port with an in-memory database, drives Chromium through the scenarios in e2e/,
// and ends with one line "E2E: N passed, M failed". Arguments filter scenarios by name.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { tsImport } from 'tsx/esm/api';
import { ensureBuilt, SERVER_ENTRY } from './build.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The server listens on IPv4 loopback; the browser reaches it by the name localhost, pinned to
// that address below (never ::1). The name matters: WebAuthn refuses IP addresses as RP IDs, and
// http://localhost is a secure context, so passkeys work with PUBLIC_URL set to that origin.
const HOST = '127.0.0.1';
const PUBLIC_HOST = 'localhost';
const READY_TIMEOUT_MS = 60_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  `--host-resolver-rules=MAP ${PUBLIC_HOST} ${HOST}`,
];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function startServer(port, dataDir) {
  const log = [];
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST,
      PUBLIC_URL: `http://${PUBLIC_HOST}:${port}`,
      DATABASE_URL: 'pglite:memory',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JWT_SECRET: randomBytes(32).toString('hex'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => {
    log.push(...chunk.toString().split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - 200));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, log, exited };
}

async function waitUntilReady(server, url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let stopped = null;
  void server.exited.then((how) => (stopped = how));
  while (Date.now() < deadline) {
    if (stopped) throw new Error(`the server exited early (${stopped.signal ?? stopped.code})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000);
  await server.exited;
  clearTimeout(timer);
}

function writeReport(results) {
  const file = process.env.E2E_JSON;
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const passed = results.filter((r) => r.ok).length;
  const report = {
    numTotalTests: results.length,
    numPassedTests: passed,
    numFailedTests: results.length - passed,
    testResults: results,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  let server = null;
  let browser = null;
  let results = [];
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    if (server) await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    await ensureBuilt({ log: console.log });
    const port = await freePort();
    const baseUrl = `http://${PUBLIC_HOST}:${port}`;
    server = startServer(port, dataDir);
    await waitUntilReady(server, `http://${HOST}:${port}/readyz`);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    const { runScenarios } = await tsImport('../e2e/run.ts', import.meta.url);
    results = await runScenarios({
      browser,
      baseUrl,
      filters: process.argv.slice(2).filter((arg) => arg !== '--'),
      artifactsDir: join(ROOT, '.test-results/e2e'),
    });
    if (results.length === 0) throw new Error('no scenario matched');
  } catch (error) {
    console.error(`e2e: ${error instanceof Error ? error.message : String(error)}`);
    results.push({ name: 'setup', ok: false, durationMs: 0, error: String(error) });
  } finally {
    if (server && results.some((r) => !r.ok) && server.log.length > 0) {
      console.log('--- server log (last lines) ---');
      console.log(server.log.slice(-40).join('\n'));
    }
    await cleanup();
  }
  writeReport(results);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`E2E: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
