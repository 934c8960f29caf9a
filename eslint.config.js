// @ts-check
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** tRPC's internals may change in any release: one module (it says which parts) imports them. */
const TRPC_INTERNALS = {
  name: '@trpc/server/unstable-core-do-not-import',
  message: 'Import it through server/src/http/trpc-internals.ts.',
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.latchkey/**',
      'bench/results/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'scripts/*.mjs', 'bench/*.mjs', '.ci/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CommonJS on purpose (server/src/auth/hash-process.cjs says why): it loads with require().
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['db/src/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['client/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@latchkey/server', '@latchkey/server/*', '@latchkey/db', '@trpc/server*'],
              allowTypeImports: true,
              message: 'The client may import server code for types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['server/**/*.ts'],
    ignores: ['server/src/http/trpc-internals.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [TRPC_INTERNALS] }],
    },
  },
  {
    files: ['server/src/routers/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [TRPC_INTERNALS],
          patterns: [
            {
              group: ['../http/*'],
              message: 'Routers reach HTTP only through the context (ctx.res, ctx.req).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['db/src/**', 'shared/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@latchkey/*'], message: 'db and shared import no workspace package.' },
          ],
        },
      ],
    },
  },
);
