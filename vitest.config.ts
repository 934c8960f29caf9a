import { configDefaults, defineConfig } from 'vitest/config';

const postgresUrl = process.env.TEST_DATABASE_URL;

/**
 * The suite runs on embedded PGlite, and a second time on PostgreSQL when TEST_DATABASE_URL is
 * set (`--project postgres` runs only that one). Each test file gets its own database or schema.
 */
export default defineConfig({
  test: {
    globalSetup: ['./server/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.VITEST_JSON
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON }]]
      : ['default'],
    projects: [
      {
        extends: true as const,
        test: {
          name: 'pglite',
          include: ['{db,shared,server,examples}/**/*.test.ts'],
          // Need PostgreSQL itself (a throwaway cluster, a database per test): the postgres run.
          exclude: [...configDefaults.exclude, '**/*.pg-cluster.test.ts'],
          env: { LATCHKEY_TEST_DB: 'pglite' },
        },
      },
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['{db,server}/**/*.test.ts'],
                env: { LATCHKEY_TEST_DB: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
