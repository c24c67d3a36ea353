// A real OpenID Provider for tests/openid_provider.rs: panva's node-oidc-provider (OpenID
// Certified), on 127.0.0.1. Nothing here is a stand-in: discovery, JWKS, the token,
// introspection (RFC 7662) and revocation (RFC 7009) endpoints are the provider's own.
//
//   node provider.mjs PORT GENERATION [KEYFILE]
//
// PORT 0 picks a free port. GENERATION names this run's signing keys (`es-<gen>`, `rs-<gen>`,
// fresh keys every start), so a restart with another generation is a key rotation. With
// KEYFILE the keys are read from it when it exists, else written to it: a restart with the
// same file is the same provider coming back. Prints `ready <issuer>` once it listens.
//
// Clients: `svc` (client_credentials, secret `svc-secret`) gets tokens; `api` (secret
// `api-secret`) is the protected service's own client for introspection. Resources
// (RFC 8707 `resource`), all with audience `reports-api`:
//   https://reports.example/es256   JWT access tokens (RFC 9068, `typ: at+jwt`), ES256
//   https://reports.example/rs256   JWT access tokens, RS256
//   https://reports.example/opaque  opaque access tokens (introspection only)
import http from 'node:http';
import Provider from 'oidc-provider';
import * as jose from 'jose';
import fs from 'node:fs';

const port = Number(process.argv[2] || 0);
const generation = process.argv[3] || '1';
const keyfile = process.argv[4];

let keys = [];
if (keyfile && fs.existsSync(keyfile)) {
  keys = JSON.parse(fs.readFileSync(keyfile, 'utf8'));
} else {
  for (const [alg, kid] of [['ES256', `es-${generation}`], ['RS256', `rs-${generation}`]]) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' });
  }
  if (keyfile) fs.writeFileSync(keyfile, JSON.stringify(keys), { mode: 0o600 });
}

const resources = {
  'https://reports.example/es256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'https://reports.example/rs256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'https://reports.example/opaque': { accessTokenFormat: 'opaque' },
};

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      { client_id: 'api', client_secret: 'api-secret', grant_types: [], redirect_uris: [], response_types: [] },
    ],
    scopes: ['read:reports', 'write:reports'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://reports.example/es256',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const info = resources[resource];
          if (!info) throw new Error(`unknown resource ${resource}`);
          return { scope: 'read:reports write:reports', audience: 'reports-api', accessTokenTTL: 300, ...info };
        },
      },
    },
  });
  server.on('request', provider.callback());
  console.log(`ready ${issuer}`);
});
