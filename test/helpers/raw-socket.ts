// A bare TCP peer speaking frames by hand, for tests that must send garbage, pause reading or
// see exactly what the server writes.

import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame, type RemotingCommand } from '../../ts/protocol/index.js';

export interface RawPeer {
  socket: Socket;
  /** Sends a command with the given opaque/flag exactly as given. */
  send(command: RemotingCommand, serializeType?: 0 | 1): void;
  /** Next command received, or rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<RemotingCommand>;
  /** Resolves when the socket closes. */
  closed: Promise<void>;
  /** Commands received and not yet taken by next(). */
  received: RemotingCommand[];
}

export async function rawPeer(port: number, options: { paused?: boolean } = {}): Promise<RawPeer> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const decoder = new FrameDecoder();
  const received: RemotingCommand[] = [];
  const waiters: Array<() => void> = [];
  if (options.paused === true) socket.pause();
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let command = decoder.next(); command !== null; command = decoder.next()) received.push(command);
    waiters.splice(0).forEach((wake) => wake());
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received,
    closed,
    send: (command, serializeType = 0) => {
      socket.write(encodeFrame(command, serializeType));
    },
    next: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no frame received in time');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.shift() as RemotingCommand;
    },
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until true or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
