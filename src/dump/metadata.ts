/**
 * `metadata.yaml` in the dump root, shaped like Mattermost's support-packet metadata
 * (`model/packet_metadata.go`, FACTS §4 "Packet metadata file"), so the support tooling
 * that reads plugin packets reads ours. Extras carry what this dump holds.
 */
import { stringify } from 'yaml';

export const PLUGIN_ID = 'com.mattermost.mattermost-plugin-metrics';
export const PACKET_METADATA_VERSION = 1;

export interface PacketMetadataInput {
  generatedAt: number;
  serverVersion: string;
  serverId: string;
  licenseId?: string;
  customerId?: string;
  appVersion: string;
  requestedMinT: number;
  requestedMaxT: number;
  dataMinT: number;
  dataMaxT: number;
  instances: string[];
  selectors: string[];
  blocks: string[];
  numSeries: number;
  numSamples: number;
}

const ID_RE = /^[a-z0-9]{26}$/;

export function renderPacketMetadata(m: PacketMetadataInput): string {
  if (!ID_RE.test(m.serverId)) throw new Error(`metadata: server_id must be a 26-character id, got ${JSON.stringify(m.serverId)}`);
  const doc = {
    version: PACKET_METADATA_VERSION,
    type: 'plugin-packet',
    generated_at: m.generatedAt,
    server_version: m.serverVersion,
    server_id: m.serverId,
    license_id: m.licenseId ?? '',
    customer_id: m.customerId ?? '',
    extras: {
      // The plugin writes the requested range as min/max; the actual data range follows.
      min: m.requestedMinT,
      max: m.requestedMaxT,
      plugin_id: PLUGIN_ID,
      plugin_version: m.appVersion,
      generator: `mm-metrics ${m.appVersion}`,
      data_min_t: m.dataMinT,
      data_max_t: m.dataMaxT,
      instances: m.instances,
      selectors: m.selectors,
      blocks: m.blocks,
      num_series: m.numSeries,
      num_samples: m.numSamples,
    },
  };
  return stringify(doc);
}

/** A Mattermost-style id: 26 chars of [a-z0-9] from 16 random bytes (base32-ish like model.NewId). */
export function newMattermostId(): string {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
  const bytes = new Uint8Array(17);
  crypto.getRandomValues(bytes);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
