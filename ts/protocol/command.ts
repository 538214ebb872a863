// The RemotingCommand: one request or response on a remoting connection. This is the decoded,
// serialization-independent form; frame.ts turns it into bytes and back.

import { BOLIDE_LANGUAGE, type LanguageName } from './language.js';
import { BOLIDE_VERSION } from './codes.js';

/** Flag bit 0: the command is a response. */
export const FLAG_RESPONSE = 1 << 0;
/** Flag bit 1: the request expects no response. */
export const FLAG_ONEWAY = 1 << 1;

/** Header serialization of a frame (high byte of the second frame word). */
export const SerializeType = {
  JSON: 0,
  ROCKETMQ: 1,
} as const;

/** `0` (JSON) or `1` (ROCKETMQ binary). */
export type SerializeTypeValue = (typeof SerializeType)[keyof typeof SerializeType];

/** One remoting command (request or response). */
export interface RemotingCommand {
  /** Request code (request) or response code (response). */
  code: number;
  /** Sender's language; informational. */
  language: LanguageName;
  /** Sender's protocol version (`MQVersion` ordinal). */
  version: number;
  /** Request id; a response carries its request's opaque. int32. */
  opaque: number;
  /** Bit 0 = response, bit 1 = oneway. */
  flag: number;
  /** Error text; absent when null on the wire. */
  remark?: string;
  /**
   * The custom header. Always strings: values arriving as JSON numbers/booleans are coerced
   * on decode, and we never send anything else.
   */
  extFields: Record<string, string>;
  /** Body bytes; absent when the frame has no body. */
  body?: Buffer;
}

/** True if the command is a response (flag bit 0). */
export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & FLAG_RESPONSE) !== 0;
}

/** True if the command is a request that expects no response (flag bit 1). */
export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & FLAG_ONEWAY) !== 0;
}

/** Optional parts of a new command. */
export interface CommandOptions {
  remark?: string;
  extFields?: Record<string, string>;
  body?: Buffer;
  /** Defaults to {@link BOLIDE_VERSION}. */
  version?: number;
  /** Defaults to {@link BOLIDE_LANGUAGE}. */
  language?: LanguageName;
}

/**
 * A request command. `opaque` is 0 here: the transport assigns one when it sends the request.
 */
export function makeRequest(code: number, options: CommandOptions & { oneway?: boolean } = {}): RemotingCommand {
  const command: RemotingCommand = {
    code,
    language: options.language ?? BOLIDE_LANGUAGE,
    version: options.version ?? BOLIDE_VERSION,
    opaque: 0,
    flag: options.oneway === true ? FLAG_ONEWAY : 0,
    extFields: { ...options.extFields },
  };
  if (options.remark !== undefined) command.remark = options.remark;
  if (options.body !== undefined) command.body = options.body;
  return command;
}

/** A response to `request`: copies its opaque and sets the response flag. */
export function makeResponse(request: RemotingCommand, code: number, options: CommandOptions = {}): RemotingCommand {
  const response: RemotingCommand = {
    code,
    language: options.language ?? BOLIDE_LANGUAGE,
    version: options.version ?? BOLIDE_VERSION,
    opaque: request.opaque,
    flag: FLAG_RESPONSE,
    extFields: { ...options.extFields },
  };
  if (options.remark !== undefined) response.remark = options.remark;
  if (options.body !== undefined) response.body = options.body;
  return response;
}
