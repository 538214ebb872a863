// Every protocol and transport bound in one place (style rule: a named limit on every queue).
// Defaults follow the Java implementation where one exists, so a Bolide peer accepts what a
// RocketMQ peer accepts; the reason is given where we chose the value ourselves.

const MiB = 1024 * 1024;

/**
 * Largest frame, length prefix included. Same as Java's `com.rocketmq.remoting.frameMaxLength`
 * default; a pull response or batch send must fit in one frame.
 */
export const FRAME_BYTES_MAX = 16 * MiB;

/**
 * Header length lives in the low 24 bits of the second frame word, so no header can reach 16 MiB.
 */
export const HEADER_BYTES_MAX = 0xffffff;

/**
 * Bytes a connection may have queued for writing (socket buffer not yet handed to the kernel
 * plus frames held back behind a raw body). A peer that stops reading is disconnected once it
 * is exceeded. Chosen as four maximal frames: a slow but live reader is not punished for one
 * large pull response, a dead reader cannot grow our heap without bound.
 */
export const WRITE_QUEUE_BYTES_MAX = 4 * FRAME_BYTES_MAX;

/**
 * Requests one connection may have in progress (handler running or parked for long polling).
 * Excess requests are answered SYSTEM_BUSY. A push consumer parks one pull per assigned queue,
 * so this must exceed the queue count a single client process can own on one broker.
 */
export const INFLIGHT_REQUESTS_MAX = 2048;

/** Requests we may have sent on one connection and still await (Java: 65535 async permits). */
export const OUTSTANDING_INVOKES_MAX = 65535;

/** Concurrent connections a server accepts; later ones are closed at once. */
export const CONNECTIONS_MAX = 10_000;

/** A server closes a connection with no traffic in either direction for this long (Java: 120 s). */
export const IDLE_TIMEOUT_MS = 120_000;

/** How long a client waits for a TCP connection (Java: connectTimeoutMillis 3 s). */
export const CONNECT_TIMEOUT_MS = 3_000;

/** Default request timeout of the remoting client (Java: mqClientApiTimeout 3 s). */
export const REQUEST_TIMEOUT_MS = 3_000;
