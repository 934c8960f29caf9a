/**
 * The package root exports types only, so `import type { AppRouter } from '@latchkey/server'`
 * pulls no server code into a client bundle.
 */
export type { AppRouter } from './routers/index.ts';
export type { PublicUser } from './routers/shapes.ts';
