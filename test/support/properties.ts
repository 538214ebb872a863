/** Encode a RocketMQ properties string (`key\x01value\x02`...) for store-level tests. */
export function encodeProperties(properties: Record<string, string>): Buffer {
  let text = '';
  for (const [key, value] of Object.entries(properties)) text += `${key}\u0001${value}\u0002`;
  return Buffer.from(text, 'utf8');
}

/** Java's String.hashCode, for tag codes. */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}
