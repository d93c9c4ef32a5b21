/**
 * A response's body as the application sends it: whatever a handler returned, as bytes.
 * @module
 */

/** The empty body (of a HEAD answer, a bodiless request, a failure with nothing to say). */
export const EMPTY = Buffer.alloc(0);

/** `value` as a body: bytes as they are, anything else as its UTF-8 text (nothing as nothing). */
export function toBuffer(value: unknown): Buffer {
  if (value === undefined || value === null) return EMPTY;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.from(typeof value === 'string' ? value : String(value), 'utf8');
}
