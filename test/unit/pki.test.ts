// The cluster CA and the API server's serving leaf (src/api/pki.ts): what they are,
// and when the leaf is issued again.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caCertHash } from '../../src/api/cert-pins.js';
import { ensureServingCertificate, pkiFiles, reissueReason, rotateCertificates } from '../../src/api/pki.js';

const dir = mkdtempSync(join(os.tmpdir(), 'minipod-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const files = pkiFiles(dir);
const read = (f: string) => readFileSync(f, 'utf8');
const DAY = 86_400_000;

describe('the cluster PKI', () => {
  it('makes a CA (10 years) and a leaf it signs (1 year, not a CA, serverAuth, the listen host), all 0600', async () => {
    expect(await ensureServingCertificate(dir, '10.1.2.3')).toEqual({ reissued: 'there is none' });
    for (const f of Object.values(files)) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
    const ca = new X509Certificate(read(files.caCert));
    const leaf = new X509Certificate(read(files.cert));
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(Date.parse(ca.validTo) - Date.now()).toBeGreaterThan(3649 * DAY);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeGreaterThan(364 * DAY);
    expect(Date.parse(leaf.validTo) - Date.now()).toBeLessThan(366 * DAY);
    expect(leaf.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.1.2.3');
  });

  it('keeps a good leaf, and issues a new one for another listen host', async () => {
    const before = read(files.cert);
    expect(await ensureServingCertificate(dir, '10.1.2.3')).toEqual({});
    expect(read(files.cert)).toBe(before);
    expect(await ensureServingCertificate(dir, 'cp.example')).toEqual({ reissued: 'it does not name cp.example' });
    expect(read(files.cert)).not.toBe(before);
  });

  it('says a leaf within 30 days of its end, or of another CA, is to be issued again', async () => {
    const leaf = { cert: read(files.cert), key: read(files.key) };
    const hosts = ['localhost', 'cp.example'];
    expect(reissueReason(leaf, hosts, read(files.caCert))).toBeUndefined();
    expect(reissueReason(leaf, hosts, read(files.caCert), Date.now() + 340 * DAY)).toMatch(/^it expires on .*, within 30 days$/);
    const caBefore = caCertHash(read(files.caCert));
    const rotated = await rotateCertificates(dir, { ca: true });
    expect(caCertHash(rotated.caCert)).not.toBe(caBefore);
    expect(rotated.hosts).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '::1', 'cp.example']));
    expect(reissueReason(leaf, hosts, read(files.caCert))).toBe('it was not signed by the current CA');
    expect(reissueReason({ cert: read(files.cert), key: read(files.key) }, hosts, read(files.caCert))).toBeUndefined();
    expect(reissueReason({ cert: read(files.cert), key: leaf.key }, hosts)).toBe('its key does not match it');
  });
});
