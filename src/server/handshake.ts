// The servers' proof of the token, both ways, with the token never sent:
// each side proves it knows it with an HMAC over a fresh nonce of the other
// side's (a challenge-response, as SCRAM, RFC 5802, does with more steps), so
// a listener that does not know the token learns nothing from a client that
// connects to it, and a recorded exchange is worth nothing for the next one.
//
//   server -> client: Ns (32 random bytes), at once on accept
//   client -> server: AUTH frame: Nc (32 random bytes) | HMAC(token, "client" | Ns | Nc)
//   server -> client: HMAC(token, "server" | Ns | Nc), then the pty's output
//
// What it does not do without TLS: keep out an attacker who sits between
// the two and relays the exchange (SECURITY.md).
import * as crypto from 'node:crypto';

export const NONCE_BYTES = 32;
const PROOF_BYTES = 32; // SHA-256.

function proof(role: 'client' | 'server', token: string, serverNonce: Buffer, clientNonce: Buffer): Buffer {
  return crypto
    .createHmac('sha256', token)
    .update(`kqueue-console pipe-to-socket ${role}`)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

/** A fresh nonce. */
export function nonce(): Buffer {
  return crypto.randomBytes(NONCE_BYTES);
}

/** The client's AUTH payload for the server's nonce: its own nonce, then its proof. */
export function clientAuth(token: string, serverNonce: Buffer, clientNonce = nonce()): Buffer {
  return Buffer.concat([clientNonce, proof('client', token, serverNonce, clientNonce)]);
}

/**
 * The server's check of an AUTH payload against its nonce: the server's own
 * proof to send back when the client's is right, else null. Constant time
 * in what it compares.
 */
export function serverAnswer(token: string, serverNonce: Buffer, payload: Buffer): Buffer | null {
  if (payload.length !== NONCE_BYTES + PROOF_BYTES) return null;
  const clientNonce = payload.subarray(0, NONCE_BYTES);
  if (!crypto.timingSafeEqual(payload.subarray(NONCE_BYTES), proof('client', token, serverNonce, clientNonce))) return null;
  return proof('server', token, serverNonce, clientNonce);
}

/** The client's check of the server's answer. */
export function serverProves(token: string, serverNonce: Buffer, clientNonce: Buffer, answer: Buffer): boolean {
  return answer.length === PROOF_BYTES && crypto.timingSafeEqual(answer, proof('server', token, serverNonce, clientNonce));
}

/**
 * The client's side over a byte stream: feed it what the server sends;
 * it says what to send (the AUTH payload), when the server has proven
 * itself, and hands on the bytes after the proof.
 */
export class ClientHandshake {
  private pending: Buffer = Buffer.alloc(0);
  private serverNonce: Buffer | null = null;
  private readonly clientNonce = nonce();
  private state: 'challenge' | 'answer' | 'open' | 'failed' = 'challenge';

  constructor(private readonly token: string) {}

  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Takes bytes from the server. Returns `{ send }` once the challenge is
   * complete, `{ output }` with what follows the server's proof once it is
   * right, `{ failed }` when it is not, or {} while more is needed.
   */
  feed(data: Buffer): { send?: Buffer; output?: Buffer; failed?: true } {
    if (this.state === 'open') return { output: data };
    if (this.state === 'failed') return { failed: true };
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    if (this.state === 'challenge') {
      if (this.pending.length < NONCE_BYTES) return {};
      this.serverNonce = this.pending.subarray(0, NONCE_BYTES);
      this.pending = this.pending.subarray(NONCE_BYTES);
      this.state = 'answer';
      const send = clientAuth(this.token, this.serverNonce, this.clientNonce);
      return { send, ...this.afterChallenge() };
    }
    return this.afterChallenge();
  }

  private afterChallenge(): { output?: Buffer; failed?: true } {
    if (this.pending.length < PROOF_BYTES) return {};
    if (!serverProves(this.token, this.serverNonce!, this.clientNonce, this.pending.subarray(0, PROOF_BYTES))) {
      this.state = 'failed';
      return { failed: true };
    }
    this.state = 'open';
    const output = this.pending.subarray(PROOF_BYTES);
    this.pending = Buffer.alloc(0);
    return output.length > 0 ? { output } : {};
  }
}
