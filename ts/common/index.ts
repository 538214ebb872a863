// Public surface of ts/common: typed errors, limits and the logger. Pure apart from the
// default logger writing to stderr.
export * from './errors.js';
export * as limits from './limits.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LogFields, LogLevel } from './logger.js';
