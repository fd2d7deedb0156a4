// Warnings to API clients as the API server sends them: one RFC 7234 `Warning`
// header per distinct text, `299 - "text"`, which kubectl (and `minipod`) print
// as `Warning: text` on stderr.
import type http from 'node:http';

/** Upstream's budget: past 4 Ki characters in all, each text is cut to 256, and what still does not fit is left out. */
const TOTAL_RUNES = 4 * 1024;
const ITEM_RUNES = 256;

/** `299 - "text"`, with `"` and `\` escaped; sent as UTF-8 bytes (Node writes header strings as Latin-1). */
export function warningHeader(text: string): string {
  const quoted = `299 - "${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return Buffer.from(quoted, 'utf8').toString('latin1');
}

export function setWarningHeaders(res: http.ServerResponse, warnings: string[]): void {
  // Control characters cannot travel in a header: such a warning is dropped, as upstream drops it.
  let texts = [...new Set(warnings)].filter((w) => w && !/[\u0000-\u001f\u007f]/.test(w));
  const runes = (s: string) => [...s].length;
  if (texts.reduce((n, t) => n + runes(t), 0) > TOTAL_RUNES) {
    texts = texts.map((t) => (runes(t) > ITEM_RUNES ? [...t].slice(0, ITEM_RUNES).join('') + '...' : t));
    let total = 0;
    texts = texts.filter((t) => (total += runes(t)) <= TOTAL_RUNES);
  }
  if (texts.length) res.setHeader('Warning', texts.map(warningHeader));
}
