/**
 * Kysely on embedded PGlite, with every statement prepared once under a name and then run as a
 * single Bind/Execute/Sync exchange.
 *
 * `PGlite.query()` re-parses and re-plans each statement and talks to the WebAssembly backend six
 * times per call (Parse, Describe, Bind, Describe, Execute, Sync); a login's three statements cost
 * more of the event loop than everything else in the request. Named statements skip the parse and
 * plan, and one exchange per execution replaces six: about a fifth of the CPU per statement.
 * Values are serialized and rows parsed exactly as `query()` does (PGlite's own serializers,
 * parsers and `parseResults`), so results do not change.
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** Prepared statements kept per database; the least recently prepared is closed past this. */
export const MAX_PREPARED = 256;

/** SQLSTATEs after which a statement is prepared again: its plan changed result type, or it is gone. */
const REPREPARE = new Set(['0A000', '26000']);

interface Prepared {
  name: string;
  paramTypes: number[];
  /** The statement's row shape (null when it returns no rows), handed to parseResults. */
  rowDescription: RowDescriptionMessage | null;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const { serialize } = protocol;
type RowDescriptionMessage = InstanceType<typeof protocol.messages.RowDescriptionMessage>;
type ParameterDescriptionMessage = InstanceType<
  typeof protocol.messages.ParameterDescriptionMessage
>;

class PreparedStatements {
  readonly #pg: PGlite;
  readonly #byText = new Map<string, Prepared>();
  #next = 0;
  /** Statements dropped from the map, closed in the next prepare's exchange. */
  #toClose: string[] = [];

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  async #prepare(text: string): Promise<Prepared> {
    const oldest = this.#byText.keys().next();
    if (this.#byText.size >= MAX_PREPARED && !oldest.done) {
      this.#toClose.push((this.#byText.get(oldest.value) as Prepared).name);
      this.#byText.delete(oldest.value);
    }
    const name = `lk_${this.#next++}`;
    const closing = this.#toClose.map((old) => serialize.close({ type: 'S', name: old }));
    this.#toClose = [];
    const { messages } = await this.#pg.execProtocol(
      concat([
        ...closing,
        serialize.parse({ name, text, types: [] }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]),
    );
    const prepared: Prepared = { name, paramTypes: [], rowDescription: null };
    for (const message of messages) {
      if (message.name === 'parameterDescription') {
        prepared.paramTypes = (message as ParameterDescriptionMessage).dataTypeIDs;
      } else if (message.name === 'rowDescription') {
        prepared.rowDescription = message as RowDescriptionMessage;
      }
    }
    this.#byText.set(text, prepared);
    return prepared;
  }

  #values(prepared: Prepared, parameters: readonly unknown[]): (string | null)[] {
    return parameters.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.#pg.serializers[prepared.paramTypes[i] ?? 0];
      // As query() does: the serializer for the inferred type, else the value's own toString().
      return serializer ? serializer(value) : (value as { toString(): string }).toString();
    });
  }

  async #execute(prepared: Prepared, parameters: readonly unknown[]) {
    const { messages } = await this.#pg.execProtocol(
      concat([
        serialize.bind({ statement: prepared.name, values: this.#values(prepared, parameters) }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    const described = prepared.rowDescription ? [prepared.rowDescription, ...messages] : messages;
    return parse.parseResults(described, this.#pg.parsers)[0];
  }

  async run(text: string, parameters: readonly unknown[]) {
    // One statement at a time on the backend, as PGlite's own query() does.
    return this.#pg.runExclusive(async () => {
      const known = this.#byText.get(text);
      if (!known) return this.#execute(await this.#prepare(text), parameters);
      try {
        return await this.#execute(known, parameters);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !REPREPARE.has(code)) throw error;
        // The schema changed under the statement (a migration): prepare it afresh, once.
        this.#byText.delete(text);
        this.#toClose.push(known.name);
        return this.#execute(await this.#prepare(text), parameters);
      }
    });
  }
}

class PreparedConnection implements DatabaseConnection {
  readonly #statements: PreparedStatements;

  constructor(statements: PreparedStatements) {
    this.#statements = statements;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#statements.run(query.sql, query.parameters);
    const rows = (result?.rows ?? []) as R[];
    return result?.affectedRows ? { rows, numAffectedRows: BigInt(result.affectedRows) } : { rows };
  }

  async *streamQuery<R>(
    query: CompiledQuery,
    chunkSize = 100,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new Error('chunkSize must be a positive integer');
    }
    const { rows } = await this.executeQuery<R>(query);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}

/** One connection (PGlite is one backend), lent to one caller at a time, in order. */
class PreparedDriver implements Driver {
  readonly #pg: PGlite;
  readonly #connection: PreparedConnection;
  #busy = false;
  readonly #waiting: Array<(connection: PreparedConnection) => void> = [];

  constructor(pg: PGlite) {
    this.#pg = pg;
    this.#connection = new PreparedConnection(new PreparedStatements(pg));
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#busy) {
      this.#busy = true;
      return this.#connection;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  releaseConnection(): Promise<void> {
    const next = this.#waiting.shift();
    if (next) next(this.#connection);
    else this.#busy = false;
    return Promise.resolve();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    const level = settings.isolationLevel;
    await connection.executeQuery(
      CompiledQuery.raw(level ? `start transaction isolation level ${level}` : 'begin'),
    );
  }

  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    await this.#pg.close();
  }
}

export class PreparedPGliteDialect implements Dialect {
  readonly #pg: PGlite;

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PreparedDriver(this.#pg);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}
