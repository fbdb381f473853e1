/**
 * `kqueue-console/server`: programs on ptys served over sockets. Sessions
 * that outlive their clients, with the screen restored on reattach and
 * viewers beside one writer ({@link serveSessions}, {@link attachSession}), and
 * the pieces the servers share: who may connect (tokens, loopback, a Unix
 * socket's owner), the proof of the token, the framing, the input path.
 * The `kqueue-console` command is this module's command line.
 * @module
 */
export {
  LOOPBACK_HOSTS,
  checkLoopback,
  listenOn,
  newToken,
  privateSocketPath,
  readTokenFile,
  sameUser,
  tokenMatches,
  writeTokenFile,
  type Address,
  type LoopbackHost,
} from './access';
export { FrameReader, MAX_FRAME, frame } from './frames';
export { ClientHandshake, NONCE_BYTES, clientAuth, nonce, serverAnswer, serverProves } from './handshake';
export { MAX_INPUT, inputWriter } from './input';
export { ScreenMirror } from './mirror';
export {
  SessionClient,
  SessionStream,
  attachSession,
  listSessions,
  type AttachOptions,
  type SessionHandlers,
  type Welcome,
} from './client';
export { DEFAULT_LINGER_MS, serveSessions, type SessionServer, type SessionServerOptions } from './serve';
export { type WebOptions } from './web';
export { VIEWER_BEHIND, type Role, type SessionInfo } from './session';
