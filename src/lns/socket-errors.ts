/** Why an LNS connection failed, in words a gateway owner can act on (TLS trust, client certificate, DNS). */

/** A socket or TLS failure in words a gateway owner can act on. */
/** `files`: whose credential files to name (`tc` for the LNS, `cups`). */
export function describeSocketError(err: Error & { code?: string }, files: 'tc' | 'cups' = 'tc'): string {
  const c = err.code ?? '';
  if (['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED'].includes(c)) {
    return `server certificate not trusted (${c}): ${files}.trust does not hold the CA that signed it`;
  }
  if (c === 'ERR_TLS_CERT_ALTNAME_INVALID') return `server certificate is for another name (${err.message})`;
  if (c === 'CERT_HAS_EXPIRED') return 'server certificate has expired';
  if (/alert (?:bad certificate|unknown ca|certificate required|certificate unknown|handshake failure)/i.test(err.message) || /ALERT_(?:BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED)/.test(c)) {
    return `server refused the client certificate (${files}.crt/${files}.key): ${err.message}`;
  }
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return `server name not resolved (${c}); retrying`;
  return `${err.message}${c ? ` (${c})` : ''}`;
}
