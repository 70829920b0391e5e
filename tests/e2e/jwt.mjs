// Signs JSON Web Tokens for the auth tests with node:crypto, and makes the
// key pairs they are checked against.

import crypto from 'node:crypto';

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Seconds since the epoch. */
export const now = () => Math.floor(Date.now() / 1000);

/**
 * A compact JWT of `claims`, signed with `alg`: `HS256` with a secret string,
 * `RS256` or `EdDSA` with a private KeyObject.
 */
export function sign(alg, key, claims) {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  let signature;
  if (alg === 'HS256') signature = crypto.createHmac('sha256', key).update(input).digest();
  else if (alg === 'RS256') signature = crypto.sign('sha256', Buffer.from(input), key);
  else if (alg === 'EdDSA') signature = crypto.sign(null, Buffer.from(input), key);
  else throw new Error(`unsupported alg ${alg}`);
  return `${input}.${signature.toString('base64url')}`;
}

/** An RSA or Ed25519 key pair: `{privateKey, publicPem}`. */
export function keyPair(kind) {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
      : crypto.generateKeyPairSync('ed25519');
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}
