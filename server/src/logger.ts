import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Lines are written out once this many bytes have gathered… */
const BUFFER_BYTES = 4096;
/** …or after this long at the latest, and at once on exit (pino flushes its destination then). */
export const LOG_FLUSH_MS = 250;

/**
 * JSON lines on stdout. Credentials never reach a log call; the redaction paths are a second line
 * of defence in case an object carrying one is logged by mistake.
 *
 * Stdout is written asynchronously and in blocks of BUFFER_BYTES (one write per ~25 request
 * lines, not one each), flushed every LOG_FLUSH_MS and synchronously when the process exits,
 * gracefully or not. Only a SIGKILL can lose the last quarter second.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const stdout = destination
    ? null
    : pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          '*.password',
          'newPassword',
          'currentPassword',
          'token',
          'accessToken',
          'refreshToken',
          'authorization',
          '*.authorization',
          'cookie',
          '*.cookie',
        ],
        censor: '[redacted]',
      },
    },
    stdout ?? destination,
  );
  if (stdout) {
    // The stream's own flush without a callback: it starts a write of what has gathered unless one
    // is under way. (The logger's flush waits for the buffer to empty, fsyncs, and under steady
    // load piles up a listener per call.)
    setInterval(() => {
      try {
        stdout.flush();
      } catch {
        // Closed: the process is exiting, and pino has flushed it synchronously.
      }
    }, LOG_FLUSH_MS).unref();
  }
  return logger;
}

/**
 * The logger for the one line per request (server.ts): the same destination, level and bindings,
 * without the redaction pass, which cost as much as the rest of the line. Safe only because that
 * line's fields are fixed — id, method, path, status, duration, client address — and none of them
 * can carry a credential (the path is without its query string). Anything else goes through
 * `logger`.
 */
export function requestLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}
