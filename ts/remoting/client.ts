// RemotingClient: request/response over one lazily opened connection per address. Used by the
// SDK (to name servers and brokers) and by the broker (to name servers).
//
// - A connection is opened on first use of an address and reused; if it closes, the next use
//   opens a new one (no background reconnect loop, so an idle client holds no timers).
// - A request's timeout covers connecting too, as in Java's invokeSync.
// - Requests the server sends us (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE...)
//   go to processors registered here, exactly like on a server.
// - close() destroys every socket and rejects everything pending; nothing is left to keep the
//   process alive, and no promise is left to reject unobserved.

import { connect as netConnect, type Socket } from 'node:net';
import { ClosedError, ConnectError, TimeoutError } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { RemotingCommand } from '../protocol/command.js';
import { parseAddress } from './address.js';
import { RemotingConnection, type CloseInfo, type ConnectionOptions } from './connection.js';
import { ProcessorTable, type RequestHandler } from './processor-table.js';
import { connectionOptions } from './options.js';
import type { RemotingServerOptions } from './server.js';

/** Client options; limits default as for the server, except idle close (off). */
export interface RemotingClientOptions extends Omit<RemotingServerOptions, 'connectionsMax'> {
  /** Time allowed to establish a TCP connection. Default 3 s. */
  connectTimeoutMs?: number;
  /** Timeout of `invoke` when none is given. Default 3 s. */
  requestTimeoutMs?: number;
}

type CloseListener = (address: string, connection: RemotingConnection, info: CloseInfo) => void;

/** A remoting client. */
export class RemotingClient {
  readonly #options: ConnectionOptions;
  readonly #logger: Logger;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #processors = new ProcessorTable();
  readonly #connections = new Map<string, RemotingConnection>();
  readonly #connecting = new Map<string, Promise<RemotingConnection>>();
  readonly #connectingSockets = new Set<Socket>();
  readonly #closeListeners = new Set<CloseListener>();
  #closed = false;

  constructor(options: RemotingClientOptions = {}) {
    this.#logger = options.logger ?? createLogger('remoting-client');
    // Idle close is the server's job (brokers close after 120 s); a client reconnects on use.
    this.#options = connectionOptions(options, this.#logger, 0);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? limits.CONNECT_TIMEOUT_MS;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? limits.REQUEST_TIMEOUT_MS;
  }

  /** Registers (or replaces) the handler of requests the server sends to us. */
  registerProcessor(code: number, handler: RequestHandler): void {
    this.#processors.register(code, handler);
  }

  /** Calls `listener` when a connection to any address closes; returns an unsubscribe function. */
  onClose(listener: CloseListener): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /**
   * Sends `request` to `address` ("host:port") and resolves with the response (whatever its
   * code: non-SUCCESS responses are results, not errors).
   * @throws TimeoutError (connect + response beyond `timeoutMs`), ConnectError,
   *   ConnectionClosedError, ClosedError (client closed), ProtocolError (encoding).
   */
  async invoke(
    address: string,
    request: RemotingCommand,
    timeoutMs = this.#requestTimeoutMs,
  ): Promise<RemotingCommand> {
    const started = Date.now();
    const connection = await this.connect(address, Math.min(this.#connectTimeoutMs, timeoutMs));
    const remainingMs = timeoutMs - (Date.now() - started);
    if (remainingMs <= 0) throw new TimeoutError(`connecting to ${address} used the whole ${timeoutMs} ms timeout`);
    return connection.invoke(request, remainingMs);
  }

  /**
   * Sends a oneway request. Resolves once it is handed to the socket.
   * @throws ConnectError, ClosedError, ConnectionClosedError (closed while sending).
   */
  async invokeOneway(address: string, request: RemotingCommand): Promise<void> {
    const connection = await this.connect(address, this.#connectTimeoutMs);
    if (!connection.invokeOneway(request)) {
      throw new ClosedError(`connection to ${address} closed before the oneway request was sent`);
    }
  }

  /** The open connection to `address`, opening one if needed. */
  connect(address: string, timeoutMs = this.#connectTimeoutMs): Promise<RemotingConnection> {
    if (this.#closed) return Promise.reject(new ClosedError('remoting client is closed'));
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.closed) return Promise.resolve(existing);
    const inProgress = this.#connecting.get(address);
    if (inProgress !== undefined) return inProgress;
    let target: { host: string; port: number };
    try {
      target = parseAddress(address);
    } catch (error) {
      return Promise.reject(error);
    }
    const attempt = this.#open(address, target, timeoutMs);
    this.#connecting.set(address, attempt);
    const forget = (): void => {
      if (this.#connecting.get(address) === attempt) this.#connecting.delete(address);
    };
    attempt.then(forget, forget);
    return attempt;
  }

  /** Closes the connection to `address`, if any. Pending requests on it fail. */
  closeConnection(address: string): void {
    this.#connections.get(address)?.close('local');
  }

  /** Closes every connection and refuses further use. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#connectingSockets) socket.destroy();
    this.#connectingSockets.clear();
    for (const connection of [...this.#connections.values()]) connection.close('shutdown');
    this.#connections.clear();
    // Let in-flight connect attempts observe their destroyed sockets and settle.
    await Promise.allSettled([...this.#connecting.values()]);
  }

  #open(address: string, target: { host: string; port: number }, timeoutMs: number): Promise<RemotingConnection> {
    return new Promise<RemotingConnection>((resolve, reject) => {
      const socket = netConnect({ host: target.host, port: target.port });
      this.#connectingSockets.add(socket);
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        this.#connectingSockets.delete(socket);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      const fail = (error: Error): void => {
        settle();
        socket.destroy();
        reject(error);
      };
      const onConnect = (): void => {
        settle();
        if (this.#closed) {
          socket.destroy();
          reject(new ClosedError('remoting client is closed'));
          return;
        }
        const connection = new RemotingConnection(socket, this.#options, this.#processors, (closed, info) =>
          this.#onConnectionClosed(address, closed, info));
        this.#connections.set(address, connection);
        this.#logger.debug('connected', { address, local: connection.localAddress });
        resolve(connection);
      };
      const onError = (error: Error): void =>
        fail(new ConnectError(`cannot connect to ${address}: ${error.message}`, { cause: error }));
      const onClose = (): void => fail(new ClosedError(`connection attempt to ${address} aborted`));
      timer = setTimeout(
        () => fail(new TimeoutError(`connecting to ${address} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('connect', onConnect);
      socket.once('error', onError);
      socket.once('close', onClose);
    });
  }

  #onConnectionClosed(address: string, connection: RemotingConnection, info: CloseInfo): void {
    if (this.#connections.get(address) === connection) this.#connections.delete(address);
    this.#logger.debug('connection closed', { address, reason: info.reason });
    for (const listener of this.#closeListeners) {
      try {
        listener(address, connection, info);
      } catch (error) {
        this.#logger.error('close listener failed', { error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}
