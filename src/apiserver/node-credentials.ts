// Per-node credentials. Beside the admin token, a daemon that listens on TCP keeps
// a join token ($MINIPOD_HOME/join-token, kubeadm's bootstrap token format
// `abcdef.0123456789abcdef`). `minipod node join` presents it once, to
//   POST /apis/minipod.io/v1/nodecredentials  {"spec": {"nodeName": "worker-2"}}
// and gets back a random token for that node alone, which it keeps and uses from
// then on, and the SHA-256 of a kubelet-client token: the credential with which the
// API server (and nothing else) reaches that node's kubelet. The store keeps, per
// node name, the hash of the node's token (never the token) and the kubelet-client
// token the API server presents. Joining the same name again replaces both: the
// old node token stops working at once.
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { sameDigest, sha256Hex } from '../api/cert-pins.js';
import { bearerMatches } from '../api/bearer.js';
import { type Store, type StoredObject, StoreError, keyOf } from '../store/store.js';
import { type Identity } from './authorization.js';
import { ApiError, badRequest, invalid } from './status.js';

// Declared without verbs (src/api/api-resources.ts) on purpose: no route can read or list it.
const RESOURCE = 'nodecredentials';

const JOIN_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const NODE_TOKEN = /^node\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_BODY = 4096;

interface CredentialRecord extends StoredObject {
  metadata: { name: string; resourceVersion?: string };
  tokenSHA256: string;
  kubeletClientToken: string;
  issuedAt: string;
}

/** What the exchange answers (the token is shown this once). */
export interface NodeCredential {
  apiVersion: 'minipod.io/v1';
  kind: 'NodeCredential';
  spec: { nodeName: string };
  status: { token: string; kubeletClientTokenSHA256: string; issuedAt: string };
}

const alphanumeric = (n: number) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)]).join('');

/** The join token in `file`, made (mode 0600) when the file does not exist. */
export function loadJoinToken(file: string): string {
  if (!existsSync(file)) writeFileSync(file, `${alphanumeric(6)}.${alphanumeric(16)}\n`, { mode: 0o600 });
  const token = readFileSync(file, 'utf8').trim();
  if (!JOIN_TOKEN.test(token)) throw new Error(`the join token in ${file} is not of the form [a-z0-9]{6}.[a-z0-9]{16}`);
  return token;
}

export class NodeCredentials {
  private joinTokenId: string;

  constructor(
    private store: Store,
    private joinToken: string,
  ) {
    this.joinTokenId = JOIN_TOKEN.exec(joinToken)![1];
  }

  /** The identity a bearer token other than the admin's stands for, or undefined (401). */
  async authenticate(header: string | undefined): Promise<Identity | undefined> {
    if (bearerMatches(header, this.joinToken)) return { kind: 'join', tokenId: this.joinTokenId };
    const m = NODE_TOKEN.exec(header?.startsWith('Bearer ') ? header.slice(7) : '');
    if (!m) return undefined;
    const name = Buffer.from(m[1], 'base64url').toString('utf8');
    const record = (await this.store.get(keyOf(RESOURCE, '', name))) as CredentialRecord | undefined;
    return record && sameDigest(sha256Hex(header!.slice(7)), record.tokenSHA256) ? { kind: 'node', name } : undefined;
  }

  /** New credentials for `nodeName`; those it had are revoked. */
  async issue(nodeName: string): Promise<NodeCredential> {
    const token = `node.${Buffer.from(nodeName).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    const kubeletClientToken = randomBytes(32).toString('base64url');
    const issuedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const record: CredentialRecord = { metadata: { name: nodeName }, tokenSHA256: sha256Hex(token), kubeletClientToken, issuedAt };
    const key = keyOf(RESOURCE, '', nodeName);
    for (let attempt = 0; ; attempt++) {
      const old = await this.store.get(key);
      try {
        if (old) await this.store.update(key, record, old.metadata.resourceVersion);
        else await this.store.create(key, record);
        break;
      } catch (err) {
        // Two joins of one name at once: the last one wins, as it would one after the other.
        if (!(err instanceof StoreError) || attempt >= 5) throw err;
      }
    }
    return {
      apiVersion: 'minipod.io/v1',
      kind: 'NodeCredential',
      spec: { nodeName },
      status: { token, kubeletClientTokenSHA256: sha256Hex(kubeletClientToken), issuedAt },
    };
  }

  /** The token the API server presents to the kubelet of `nodeName` (undefined: the node never joined). */
  async kubeletClientToken(nodeName: string): Promise<string | undefined> {
    return ((await this.store.get(keyOf(RESOURCE, '', nodeName))) as CredentialRecord | undefined)?.kubeletClientToken;
  }
}

/** POST /apis/minipod.io/v1/nodecredentials (authorized before: the join token or the admin). */
export async function serveNodeCredentials(credentials: NodeCredentials | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (!credentials) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (req.method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  const body = (await readSmallJson(req)) as { spec?: { nodeName?: unknown } } | undefined;
  const nodeName = body?.spec?.nodeName;
  if (typeof nodeName !== 'string' || !nodeName) throw invalid('NodeCredential', '', [{ path: 'spec.nodeName', message: 'Required value' }]);
  if (nodeName.length > 253 || !NODE_NAME.test(nodeName)) {
    throw invalid('NodeCredential', nodeName, [{ path: 'spec.nodeName', message: `Invalid value: "${nodeName}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` }]);
  }
  const issued = await credentials.issue(nodeName);
  const text = JSON.stringify(issued);
  res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

async function readSmallJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY}`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}
