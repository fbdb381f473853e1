/**
 * The session protocol, over frames (frames.ts). Client to server: on TCP
 * first AUTH (the proof of the token, handshake.ts; a Unix socket's peer is
 * checked by its uid instead), then one HELLO, then DATA and RESIZE.
 * Server to client: WELCOME (or REFUSED), SNAPSHOT, then OUTPUT, and EXIT
 * at the program's end; or LIST for a HELLO that asked for it.
 *
 * SNAPSHOT and OUTPUT carry the sequence number of their first byte of
 * output: a snapshot at S is followed by OUTPUT at S, and each OUTPUT
 * starts where the last ended, so a client can tell a byte lost or
 * repeated from one that was not.
 * @module
 */
import type { WinSize } from '../tty/console';
import { frame } from './frames';

export const AUTH = 1;
export const DATA = 2;
export const RESIZE = 3;
export const HELLO = 4;
export const WELCOME = 16;
export const SNAPSHOT = 17;
export const OUTPUT = 18;
export const EXIT = 19;
export const LIST = 20;
export const REFUSED = 21;

/** What a client asks for in its HELLO. */
export type Hello = { op: 'list' } | { op: 'attach'; session?: string; new?: boolean; readOnly?: boolean; size?: WinSize };

/** A HELLO's payload as the server takes it: anything else is refused. */
export function parseHello(value: Record<string, unknown> | null): Hello | null {
  if (value === null) return null;
  if (value.op === 'list') return { op: 'list' };
  if (value.op !== 'attach') return null;
  const { session, readOnly, size } = value;
  if (session !== undefined && (typeof session !== 'string' || session.length === 0 || session.length > 64 || !/^[\w.-]+$/.test(session)))
    return null;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') return null;
  if (value.new !== undefined && typeof value.new !== 'boolean') return null;
  const checked = size === undefined ? undefined : sizeOf(size);
  if (checked === null) return null;
  return { op: 'attach', session, new: value.new, readOnly, size: checked };
}

/** A window size of 1–65535 rows and columns, or null. */
export function sizeOf(value: unknown): WinSize | null {
  if (typeof value !== 'object' || value === null) return null;
  const { rows, cols } = value as Record<string, unknown>;
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 0xffff;
  return ok(rows) && ok(cols) ? { rows, cols } : null;
}

export function resizePayload(size: WinSize): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(size.rows, 0);
  payload.writeUInt16BE(size.cols, 2);
  return payload;
}

/** OUTPUT: [seq f64 BE][bytes]. Sequence numbers stay exact up to 2^53 bytes. */
export function outputFrame(seq: number, chunk: Uint8Array): Buffer {
  const payload = Buffer.allocUnsafe(8 + chunk.length);
  payload.writeDoubleBE(seq, 0);
  payload.set(chunk, 8);
  return frame(OUTPUT, payload);
}

/** SNAPSHOT: [seq f64 BE][rows u16][cols u16][the screen, UTF-8]. */
export function snapshotFrame(seq: number, size: WinSize, screen: string): Buffer {
  const text = Buffer.from(screen);
  const payload = Buffer.allocUnsafe(12 + text.length);
  payload.writeDoubleBE(seq, 0);
  payload.writeUInt16BE(size.rows, 8);
  payload.writeUInt16BE(size.cols, 10);
  payload.set(text, 12);
  return frame(SNAPSHOT, payload);
}
