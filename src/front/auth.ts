/**
 * The one password check of every protocol: RESP AUTH/HELLO, memcached's ASCII authentication,
 * native HELLO/AUTH over TCP and WebSocket, and the gateway's guarded HTTP routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Does `given` equal `password`? The SHA-256 digests of both are compared in constant time, so the
 * time taken tells neither the password's content nor its length.
 */
export function passwordMatches(given: Uint8Array | string, password: Uint8Array | string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(password).digest();
  return timingSafeEqual(a, b);
}
