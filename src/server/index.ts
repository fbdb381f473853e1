/**
 * `kqueue-console/server`: programs on ptys served over sockets; the
 * pieces the servers share: who may connect (tokens, loopback, a Unix
 * socket's owner), the proof of the token, the framing, the input path.
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
