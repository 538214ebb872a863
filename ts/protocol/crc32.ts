// CRC-32 (IEEE 802.3 polynomial, the one java.util.zip.CRC32 computes). RocketMQ stores it
// masked to 31 bits (`& 0x7FFFFFFF`) as BODYCRC and REGISTER_BROKER's bodyCrc32.

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 of `bytes` as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i += 1) {
    crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}

/** CRC-32 masked to 31 bits, as RocketMQ writes it (`UtilAll.crc32`). */
export function crc32Masked(bytes: Uint8Array): number {
  return crc32(bytes) & 0x7fffffff;
}
