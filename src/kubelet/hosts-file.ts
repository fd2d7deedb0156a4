// The pod's /etc/hosts, as the kubelet writes it (pkg/kubelet/kubelet_pods.go):
// one file per pod in the pod's directory, bind-mounted into every init and app
// container (not the pause container) once the pod's IP is known. Off the host
// network it is the kubelet's own file (localhost, the IPv6 names, the pod's IP
// with its FQDN and hostname); on the host network it is the node's file. Both end
// with the pod's hostAliases.
import { readFileSync, writeFileSync } from 'node:fs';
import type { HostAlias } from '../api/types.js';

const MANAGED_HEADER = '# Kubernetes-managed hosts file.\n';
const MANAGED_HEADER_HOST_NETWORK = '# Kubernetes-managed hosts file (host network).\n';

/** The kubelet's file for a pod on the pod network; `domain` is '' without a subdomain. */
export function managedHostsFileContent(podIPs: string[], hostname: string, domain: string, aliases: HostAlias[] = []): string {
  let text = MANAGED_HEADER;
  text += '127.0.0.1\tlocalhost\n';
  text += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  text += 'fe00::0\tip6-localnet\n';
  text += 'fe00::0\tip6-mcastprefix\n';
  text += 'fe00::1\tip6-allnodes\n';
  text += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) text += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return text + hostAliasEntries(aliases);
}

/** The node's file, marked as managed, for a pod on the host network. */
export function nodeHostsFileContent(nodeHosts: string, aliases: HostAlias[] = []): string {
  return MANAGED_HEADER_HOST_NETWORK + nodeHosts + hostAliasEntries(aliases);
}

/** One line per alias: its IP, then its hostnames separated by tabs. */
export function hostAliasEntries(aliases: HostAlias[]): string {
  if (aliases.length === 0) return '';
  return `\n# Entries added by HostAliases.\n${aliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`).join('')}`;
}

/**
 * Writes the pod's hosts file when its content changed; returns the content. The
 * write is in place (same inode), as the kubelet's: a running container's bind
 * mount sees it.
 */
export function writeHostsFile(file: string, content: string, previous?: string): string {
  if (content !== previous) writeFileSync(file, content, { mode: 0o644 });
  return content;
}

export function readNodeHosts(path = '/etc/hosts'): string {
  return readFileSync(path, 'utf8');
}
