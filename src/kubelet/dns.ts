// The pod's resolv.conf, formed as the kubelet's DNS configurer forms it
// (pkg/kubelet/network/dns): the node's resolv.conf is the base (nothing for
// dnsPolicy None), the pod's dnsConfig is appended, and the result is cut to the
// resolver's limits. minipod runs no cluster DNS server, so ClusterFirst is what a
// kubelet without --cluster-dns does: it warns (MissingClusterDNS) and uses the
// node's file. The runtime writes the file (search, nameserver, options lines) and
// every container of the pod mounts it at /etc/resolv.conf.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Pod, PodSpec } from '../api/types.js';

export interface DNSConfig {
  servers: string[];
  searches: string[];
  /** `name` or `name:value`, as on an `options` line. */
  options: string[];
}

export interface DNSEvent {
  reason: 'MissingClusterDNS' | 'DNSConfigForming';
  message: string;
}

// The apiserver's limits, which the kubelet also applies to the merged result.
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;
const MAX_SEARCH_PATH_LENGTH = 253; // a longer one makes some libcs abort()

/** What a resolv.conf says: nameservers accumulate, the last `search` and `options` lines win. */
export function parseResolvConf(text: string): DNSConfig {
  const config: DNSConfig = { servers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) continue;
    const [key, ...rest] = trimmed.split(/\s+/);
    if (key === 'nameserver' && rest.length > 0) config.servers.push(rest[0]);
    // "a.example." and "a.example" are one domain: counted once against the limits.
    if (key === 'search') config.searches = rest.map((s) => (s.endsWith('.') ? s.slice(0, -1) : s));
    if (key === 'options') config.options = rest;
  }
  return config;
}

/** cluster: the cluster's DNS server (ClusterFirst off the host network, ClusterFirstWithHostNet); host: the node's file; none: only dnsConfig. */
export function podDNSType(spec: Pick<PodSpec, 'dnsPolicy' | 'hostNetwork'>): 'cluster' | 'host' | 'none' {
  switch (spec.dnsPolicy ?? 'ClusterFirst') {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'Default':
      return 'host';
    default:
      return spec.hostNetwork ? 'host' : 'cluster'; // a host-network pod cannot reach the cluster's DNS by its service IP
  }
}

/** The pod's DNS settings from the node's, and the warnings the kubelet records on the pod. */
export function podDNSConfig(pod: Pod, node: DNSConfig): { config: DNSConfig; events: DNSEvent[] } {
  const events: DNSEvent[] = [];
  const type = podDNSType(pod.spec);
  let config: DNSConfig = type === 'none' ? { servers: [], searches: [], options: [] } : { servers: [...node.servers], searches: [...node.searches], options: [...node.options] };
  if (type === 'cluster') {
    const m = pod.metadata;
    events.push({
      reason: 'MissingClusterDNS',
      message: `pod: "${m.name}_${m.namespace ?? 'default'}(${m.uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
    });
  }
  const extra = pod.spec.dnsConfig;
  if (extra) {
    config = {
      servers: unique([...config.servers, ...(extra.nameservers ?? [])]),
      searches: unique([...config.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(config.options, extra.options ?? []),
    };
  }
  return fitLimits(config, events);
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * Options merged by name, the pod's value winning. The kubelet goes through a Go
 * map, so its order is random; here the node's order is kept and new names follow.
 */
export function mergeOptions(existing: string[], pod: { name: string; value?: string }[]): string[] {
  const merged = new Map<string, string>();
  for (const op of existing) {
    const colon = op.indexOf(':');
    if (colon < 0) merged.set(op, '');
    else merged.set(op.slice(0, colon), op.slice(colon + 1));
  }
  for (const op of pod) merged.set(op.name, op.value ?? '');
  return [...merged].map(([name, value]) => (value ? `${name}:${value}` : name));
}

/** Cuts nameservers and search paths to the limits, with the kubelet's DNSConfigForming warnings. */
export function fitLimits(config: DNSConfig, events: DNSEvent[] = []): { config: DNSConfig; events: DNSEvent[] } {
  let servers = config.servers;
  if (servers.length > MAX_NAMESERVERS) {
    servers = servers.slice(0, MAX_NAMESERVERS);
    events.push({ reason: 'DNSConfigForming', message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.join(' ')}` });
  }
  let searches = config.searches;
  let exceeded = false;
  if (searches.length > MAX_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_SEARCH_PATHS);
    exceeded = true;
  }
  const kept = searches.filter((s) => s.length <= MAX_SEARCH_PATH_LENGTH);
  if (kept.length !== searches.length) exceeded = true;
  searches = kept;
  // Drop from the end until the line fits.
  while (searches.join(' ').length > MAX_SEARCH_LIST_CHARS) {
    searches = searches.slice(0, -1);
    exceeded = true;
  }
  if (exceeded) {
    events.push({ reason: 'DNSConfigForming', message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}` });
  }
  return { config: { servers, searches, options: config.options }, events };
}

/** The file as the runtime writes it: search, then nameservers, then options; '' when there is nothing to say. */
export function formatResolvConf(config: DNSConfig): string {
  let text = '';
  if (config.searches.length) text += `search ${config.searches.join(' ')}\n`;
  for (const server of config.servers) text += `nameserver ${server}\n`;
  if (config.options.length) text += `options ${config.options.join(' ')}\n`;
  return text;
}

const SYSTEMD_RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

/**
 * The node's resolv.conf (the kubelet's --resolv-conf). As kubeadm configures it:
 * systemd-resolved's upstream file when /etc/resolv.conf names only its stub
 * 127.0.0.53, which a pod on the bridge network cannot reach.
 */
export function nodeResolvConfPath(etc = '/etc/resolv.conf', upstream = SYSTEMD_RESOLVED_UPSTREAM): string {
  try {
    const servers = parseResolvConf(readFileSync(etc, 'utf8')).servers;
    if (servers.length > 0 && servers.every((s) => s === '127.0.0.53') && existsSync(upstream)) return upstream;
  } catch {
    // unreadable: the read below says so
  }
  return etc;
}

/**
 * Forms the pod's resolv.conf and writes it to `file`. When the merged settings are
 * empty, the node's file is copied as it is, as the runtime does. A node without a
 * resolv.conf is taken as an empty one.
 */
export function writePodResolvConf(file: string, pod: Pod, nodeFile = nodeResolvConfPath()): DNSEvent[] {
  let nodeText = '';
  try {
    nodeText = readFileSync(nodeFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { config, events } = podDNSConfig(pod, parseResolvConf(nodeText));
  writeFileSync(file, formatResolvConf(config) || nodeText, { mode: 0o644 });
  return events;
}
