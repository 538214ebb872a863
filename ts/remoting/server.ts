// RemotingServer: accepts remoting connections on a TCP port and dispatches their requests to
// handlers by request code. Used by the name server and the broker. Limits (all per
// connection unless noted) keep one misbehaving peer from hurting others:
//   connectionsMax (whole server), inflightRequestsMax (→ SYSTEM_BUSY), writeQueueBytesMax
//   (→ close), frameBytesMax (→ close), idleTimeoutMs (→ close).

import { createServer, type Server, type Socket } from 'node:net';
import { ClosedError, ConfigError, errorMessage } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { RemotingCommand, SerializeTypeValue } from '../protocol/command.js';
import { RemotingConnection, type CloseInfo, type ConnectionOptions } from './connection.js';
import { connectionOptions, positive } from './options.js';
import { ProcessorTable, type RequestHandler } from './processor-table.js';

/** Server options; every limit has a default from ts/common/limits.ts. */
export interface RemotingServerOptions {
  /** Largest frame accepted or sent, prefix included. Default 16 MiB. */
  frameBytesMax?: number;
  /** Pending write bytes above which a connection is closed. Default 64 MiB. */
  writeQueueBytesMax?: number;
  /** Requests handled or parked per connection before SYSTEM_BUSY. Default 2048. */
  inflightRequestsMax?: number;
  /** Server → client requests awaiting a response per connection. Default 65535. */
  outstandingInvokesMax?: number;
  /** Concurrent connections; later ones are closed at once. Default 10000. */
  connectionsMax?: number;
  /** Close a connection after this long without traffic; 0 disables. Default 120 s. */
  idleTimeoutMs?: number;
  /** Serialization of the headers we write. Default JSON (every client understands it). */
  serializeType?: SerializeTypeValue;
  logger?: Logger;
}

/** Where the server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

type ConnectListener = (connection: RemotingConnection) => void;
type CloseListener = (connection: RemotingConnection, info: CloseInfo) => void;

/** A remoting server. Register processors, then `listen`. */
export class RemotingServer {
  readonly #options: ConnectionOptions;
  readonly #connectionsMax: number;
  readonly #logger: Logger;
  readonly #processors = new ProcessorTable();
  readonly #connections = new Set<RemotingConnection>();
  readonly #connectListeners = new Set<ConnectListener>();
  readonly #closeListeners = new Set<CloseListener>();
  #server: Server | null = null;
  #address: ListenAddress | null = null;
  #closed = false;

  constructor(options: RemotingServerOptions = {}) {
    this.#logger = options.logger ?? createLogger('remoting-server');
    this.#options = connectionOptions(options, this.#logger, limits.IDLE_TIMEOUT_MS);
    this.#connectionsMax = positive('connectionsMax', options.connectionsMax ?? limits.CONNECTIONS_MAX);
  }

  /** Registers (or replaces) the handler of a request code. */
  registerProcessor(code: number, handler: RequestHandler): void {
    this.#processors.register(code, handler);
  }

  /** Replaces the handler of unregistered codes (default: REQUEST_CODE_NOT_SUPPORTED). */
  setDefaultProcessor(handler: RequestHandler): void {
    this.#processors.setFallback(handler);
  }

  /**
   * Starts listening; `port` 0 picks a free port (see the returned address or {@link port}).
   * @throws ClosedError if the server was closed; the socket error if binding fails.
   */
  async listen(host: string, port: number): Promise<ListenAddress> {
    if (this.#closed) throw new ClosedError('server is closed');
    if (this.#server !== null) throw new ConfigError('server is already listening');
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      this.#server = null;
      throw error;
    });
    server.on('error', (error) => this.#logger.error('server socket error', { error: error.message }));
    const bound = server.address();
    const isInet = typeof bound === 'object' && bound !== null;
    this.#address = isInet ? { host: bound.address, port: bound.port } : { host, port };
    this.#logger.info('listening', { host: this.#address.host, port: this.#address.port });
    return { ...this.#address };
  }

  /** The bound port; 0 before `listen` resolves. */
  get port(): number {
    return this.#address?.port ?? 0;
  }

  /** Open connections. */
  get connections(): ReadonlySet<RemotingConnection> {
    return this.#connections;
  }

  /** Calls `listener` for every new connection; returns an unsubscribe function. */
  onConnect(listener: ConnectListener): () => void {
    this.#connectListeners.add(listener);
    return () => this.#connectListeners.delete(listener);
  }

  /** Calls `listener` when a connection closes (any reason); returns an unsubscribe function. */
  onClose(listener: CloseListener): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Sends a request to a client over its connection and awaits the response. */
  invoke(connection: RemotingConnection, request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    return connection.invoke(request, timeoutMs);
  }

  /** Sends a oneway request to a client; false if the connection is closed. */
  invokeOneway(connection: RemotingConnection, request: RemotingCommand): boolean {
    return connection.invokeOneway(request);
  }

  /** Stops listening and closes every connection (reason `shutdown`). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const server = this.#server;
    for (const connection of [...this.#connections]) connection.close('shutdown');
    if (server === null) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#logger.info('stopped', { port: this.port });
  }

  #accept(socket: Socket): void {
    if (this.#closed || this.#connections.size >= this.#connectionsMax) {
      this.#logger.warn('connection refused: server closed or connection limit reached', {
        remote: socket.remoteAddress,
        connections: this.#connections.size,
        connectionsMax: this.#connectionsMax,
      });
      socket.destroy();
      return;
    }
    const connection = new RemotingConnection(socket, this.#options, this.#processors, (closed, info) =>
      this.#onConnectionClosed(closed, info));
    this.#connections.add(connection);
    this.#logger.debug('connection opened', { remote: connection.remoteAddress, id: connection.id });
    for (const listener of this.#connectListeners) this.#callListener(() => listener(connection));
  }

  #onConnectionClosed(connection: RemotingConnection, info: CloseInfo): void {
    this.#connections.delete(connection);
    const fields = { remote: connection.remoteAddress, id: connection.id, reason: info.reason };
    this.#logger.debug('connection closed', fields);
    for (const listener of this.#closeListeners) this.#callListener(() => listener(connection, info));
  }

  #callListener(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#logger.error('connection listener failed', { error: errorMessage(error) });
    }
  }
}
