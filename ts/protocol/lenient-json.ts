// fastjson writes maps with integer keys without quotes: `{0:"10.0.0.1:10911"}`,
// `{"offsetTable":{"t@g":{0:12,1:7}}}`. That is not JSON, but RocketMQ peers and files use it
// (route data for old clients, broker config files). parseLenientJson quotes bare integer
// keys outside strings, then hands the text to JSON.parse; everything else must be strict JSON.

import { ProtocolError } from '../common/errors.js';

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Rewrites `{0:` / `,12:` (bare, optionally negative, integer object keys) as quoted keys.
 * Only positions right after `{` or `,` outside a string are considered, and only when the
 * integer is followed by `:`, so array elements and values are untouched.
 */
export function quoteBareIntegerKeys(text: string): string {
  let out = '';
  let copiedUpTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x22) {
      inString = true;
      continue;
    }
    if (code !== 0x7b && code !== 0x2c) continue; // '{' or ','
    let start = i + 1;
    while (start < text.length && isSpace(text.charCodeAt(start))) start += 1;
    let end = start;
    if (text.charCodeAt(end) === 0x2d) end += 1; // '-'
    const digitsStart = end;
    while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
    if (end === digitsStart) continue;
    let colon = end;
    while (colon < text.length && isSpace(text.charCodeAt(colon))) colon += 1;
    if (text.charCodeAt(colon) !== 0x3a) continue; // ':'
    out += `${text.slice(copiedUpTo, start)}"${text.slice(start, end)}"`;
    copiedUpTo = end;
    i = end - 1;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/**
 * Parses JSON that may contain fastjson's unquoted integer map keys.
 * @throws ProtocolError `BODY_INVALID` with JSON.parse's explanation for anything else invalid.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(quoteBareIntegerKeys(text));
  } catch (error) {
    throw new ProtocolError('BODY_INVALID', `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
}
