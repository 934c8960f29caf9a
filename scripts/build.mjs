// Builds what is missing or older than its sources: the SPA (Vite, into client/dist) and the
// server (esbuild, into server/dist/bundle). The server bundle starts faster and lighter than the
// TypeScript sources under tsx: no compile step and no loader thread.
//
//   node scripts/build.mjs            both, when stale
//   node scripts/build.mjs --force    both, always
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The server entry point once built. */
export const SERVER_ENTRY = join(ROOT, 'server/dist/bundle/main.js');
const SPA_INDEX = join(ROOT, 'client/dist/index.html');

/** Newest modification time under the given paths, skipping node_modules and tests. */
export function newestMtime(paths) {
  let newest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      const children = readdirSync(path).filter(
        (name) => name !== 'node_modules' && !/\.test\.tsx?$/.test(name),
      );
      newest = Math.max(newest, newestMtime(children.map((name) => join(path, name))));
    } else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

function stale(output, sources) {
  return (
    !existsSync(output) || statSync(output).mtimeMs < newestMtime(sources.map((p) => join(ROOT, p)))
  );
}

const SPA_SOURCES = [
  'client/src',
  'client/index.html',
  'client/vite.config.ts',
  'client/package.json',
  'shared/src',
];
const SERVER_SOURCES = [
  'server/src',
  'server/package.json',
  'db/src',
  'shared/src',
  'scripts/build.mjs',
];

export function buildSpa() {
  const result = spawnSync('pnpm', ['--filter', '@latchkey/client', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error('the web app build failed');
}

/**
 * Pure-JavaScript packages bundled in: each is hundreds of small ES modules that Node would
 * otherwise resolve, read and compile one by one on every start. Together they must be bundled or
 * not (the embedded database's dialect extends kysely's classes; the tRPC subpaths share tRPC's
 * internals).
 */
const BUNDLED = ['kysely', '@trpc/server', 'zod', 'jose'];
const bundled = (path) => BUNDLED.some((name) => path === name || path.startsWith(`${name}/`));

/**
 * One ESM bundle of the server and the workspace packages it uses; other npm packages (native,
 * WebAssembly, worker-based) stay external and load from server/node_modules. Every package must
 * be a dependency of @latchkey/server either way (checked here).
 * The output sits three levels below the root, as the sources do (server/src/http/static.ts finds
 * client/dist at ../../../client/dist), and the hashing process's script is copied beside it.
 */
export async function buildServer() {
  const { build, stop } = await import('esbuild');
  const outdir = join(ROOT, 'server/dist/bundle');
  rmSync(join(ROOT, 'server/dist'), { recursive: true, force: true });
  const serverDir = join(ROOT, 'server');
  const unresolved = [];
  try {
    await build({
      entryPoints: [join(ROOT, 'server/src/main.ts')],
      outdir,
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
      plugins: [
        {
          name: 'npm-packages-external',
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, async (args) => {
              if (args.path.startsWith('@latchkey/') || args.path.startsWith('node:')) return;
              if (args.pluginData === 'probe') return;
              const found = await b.resolve(args.path, {
                resolveDir: serverDir,
                kind: args.kind,
                pluginData: 'probe',
              });
              if (found.errors.length > 0) unresolved.push(args.path);
              else if (bundled(args.path)) return { path: found.path };
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } finally {
    // esbuild keeps a service process for later builds; `pnpm start` outlives this one by hours.
    await stop();
  }
  if (unresolved.length > 0) {
    throw new Error(
      `not resolvable from server/ (add to server/package.json): ${[...new Set(unresolved)].join(', ')}`,
    );
  }
  copyFileSync(join(ROOT, 'server/src/auth/hash-process.cjs'), join(outdir, 'hash-process.cjs'));
}

/** Builds the SPA and the server when they are missing or stale (or always, with force). */
export async function ensureBuilt({ force = false, log = console.error } = {}) {
  if (force || stale(SPA_INDEX, SPA_SOURCES)) {
    log('latchkey: building the web app…');
    buildSpa();
  }
  if (force || stale(SERVER_ENTRY, SERVER_SOURCES)) {
    log('latchkey: building the server…');
    await buildServer();
  }
  return SERVER_ENTRY;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await ensureBuilt({ force: process.argv.includes('--force') });
  } catch (error) {
    console.error(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
