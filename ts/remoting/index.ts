// Public surface of ts/remoting: the RocketMQ remoting transport on node:net, shared by the
// name server, the broker and the SDK. Depends only on ts/protocol and ts/common.

export { RemotingServer } from './server.js';
export type { RemotingServerOptions, ListenAddress } from './server.js';
export { RemotingClient } from './client.js';
export type { RemotingClientOptions } from './client.js';
export { RemotingConnection } from './connection.js';
export type { CloseInfo, CloseReason, RawFrameWriter, SocketTransfer } from './connection.js';
export type { RequestContext } from './request-context.js';
export { ProcessorTable, requestCodeNotSupported } from './processor-table.js';
export type { RequestHandler, HandlerResult } from './processor-table.js';
export { parseAddress, formatAddress } from './address.js';
export type { SocketAddress } from './address.js';
