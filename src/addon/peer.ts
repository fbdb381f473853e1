/**
 * Who is at the other end of a Unix socket: the uid the kernel recorded when
 * the peer called connect(2) or listen(2) (SO_PEERCRED, unix(7); getpeereid(3)
 * on macOS and the BSDs), which the peer cannot forge. Node exposes neither.
 */
import type * as net from 'node:net';
import { binding, lastError } from './binding';
import { invalidArgType, invalidArgValue } from '../validators';

/**
 * The uid of the process at the other end of a connected Unix domain
 * socket: a server refuses another user's client with it, a client a
 * server that is not its own user's.
 * @throws ERR_INVALID_ARG_TYPE for what is not a net.Socket;
 *   ERR_INVALID_ARG_VALUE for a socket with no fd yet (not connected);
 *   errno errors: `EAFNOSUPPORT` (syscall `getsockname`) for a socket that
 *   is not a Unix socket; `ENOTSOCK`, `ENOTCONN` from getsockopt.
 */
export function peerUid(socket: net.Socket): number {
  if (typeof socket !== 'object' || socket === null || typeof (socket as { write?: unknown }).write !== 'function') {
    throw invalidArgType('socket', 'an instance of net.Socket', socket);
  }
  // The handle's fd: public on Node's Pipe and TCP handles, though not documented.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw invalidArgValue('socket', 'be connected, with an fd', fd);
  const native = binding();
  const uid = native.peerUid(fd);
  if (uid < 0) throw lastError(native, fd);
  return uid;
}
