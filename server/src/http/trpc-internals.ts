/**
 * The only module that reaches into tRPC's internals (`unstable-core-do-not-import`, which may
 * change in any release): just what no public entry point exports. Everything else comes from
 * `@trpc/server`, `@trpc/server/http` and `@trpc/server/rpc`; a lint rule keeps it that way.
 */
export { getProcedureAtPath, jsonlStreamProducer } from '@trpc/server/unstable-core-do-not-import';
