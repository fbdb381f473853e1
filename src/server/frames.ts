/**
 * The servers' framing: `[type u8][length u32 BE][payload]`, both ways.
 * A frame longer than {@link MAX_FRAME} is a protocol error: the reader
 * says so and the connection is dropped, so a peer cannot make the other
 * side buffer without bound.
 * @module
 */

/** The longest payload either side accepts. */
export const MAX_FRAME = 1 << 20;
const HEAD = 5;

/** One frame's bytes. */
export function frame(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEAD + payload.length);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, HEAD);
  return out;
}

/** A frame whose payload is a JSON value. */
export function jsonFrame(type: number, value: unknown): Buffer {
  return frame(type, Buffer.from(JSON.stringify(value)));
}

/** A JSON payload (bytes as UTF-8, or text) as an object, or null when it is not one: the caller refuses it. */
export function parseJson(payload: Buffer | string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Splits a byte stream into frames; calls back with each. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  /** `max`: the longest payload taken (a client takes a screen's snapshot, longer than any frame a server takes). */
  constructor(
    private readonly onFrame: (type: number, payload: Buffer) => void,
    private readonly max = MAX_FRAME,
  ) {}

  /** Takes bytes; false once a frame is longer than the maximum (nothing more is parsed). */
  push(data: Buffer): boolean {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= HEAD) {
      const length = this.pending.readUInt32BE(1);
      if (length > this.max) return false;
      if (this.pending.length < HEAD + length) break;
      const type = this.pending[0];
      const payload = this.pending.subarray(HEAD, HEAD + length);
      this.pending = this.pending.subarray(HEAD + length);
      this.onFrame(type, payload);
    }
    return true;
  }
}
