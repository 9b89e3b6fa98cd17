/**
 * Named series groups an admin can pick instead of writing selectors.
 *
 * The API validates group names against this list; the dump builder expands a group
 * to its selectors (any series matching any selector of any chosen group is kept).
 * Prefixes follow ../shared/mattermost/metrics-catalog.json.
 */
export const SERIES_GROUPS = {
  /** HTTP API latency/counts and the server's own request metrics. */
  api: ['{__name__=~"mattermost_api_.+|mattermost_http_.+"}'],
  /** SQL store timings and connection pools. */
  database: ['{__name__=~"mattermost_db_.+|go_sql_.+"}'],
  /** WebSocket hub and broadcast metrics. */
  websocket: ['{__name__=~"mattermost_websocket_.+"}'],
  /** Calls plugin and RTCD. */
  calls: ['{job="calls"}', '{__name__=~"mattermost_plugin_calls_.+|rtcd_.+"}'],
  /** node_exporter targets. */
  node: ['{job="node"}'],
  /** Go runtime and process collectors of every target. */
  go: ['{__name__=~"go_.+|process_.+|mattermost_process_.+"}'],
} as const satisfies Record<string, readonly string[]>;

export type SeriesGroup = keyof typeof SERIES_GROUPS;

export const SERIES_GROUP_NAMES = Object.keys(SERIES_GROUPS) as SeriesGroup[];

/** The selectors for a list of groups (unknown names are skipped; the API rejects them earlier). */
export function groupSelectors(groups: readonly string[]): string[] {
  const out: string[] = [];
  for (const g of groups) {
    const sel = (SERIES_GROUPS as Record<string, readonly string[]>)[g];
    if (sel) out.push(...sel);
  }
  return out;
}
