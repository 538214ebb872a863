// The seam between the SDK and the network: everything the clients need from a remoting
// transport. RemotingClient (ts/remoting) is the real one; tests can install a fake through
// ClientOptions.transport and drive a client without sockets.

import type { RemotingCommand } from '../protocol/index.js';
import type { RequestHandler } from '../remoting/index.js';

/** A request/response transport to "host:port" addresses. */
export interface Transport {
  /** Sends a request and resolves with the response (any code); rejects on timeout or network failure. */
  invoke(address: string, request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  /** Sends a request that gets no response. */
  invokeOneway(address: string, request: RemotingCommand): Promise<void>;
  /** Handles requests the server sends us (NOTIFY_CONSUMER_IDS_CHANGED...). */
  registerProcessor(code: number, handler: RequestHandler): void;
  /** Releases every connection; later calls fail. */
  close(): Promise<void>;
}
