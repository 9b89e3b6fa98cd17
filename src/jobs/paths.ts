/**
 * File-store keys of dump archives, identical to the Mattermost plugin's layout
 * (../shared/mattermost/FACTS.md §4 "File-store layout") so both can share a store.
 */
import { isValidId } from './id.js';

/** Folder holding every dump, relative to the file-store root. */
export const DUMP_ROOT = 'plugin-data/mattermost-plugin-metrics/dump';
/** Archive file name inside a job's folder (also the download file name). */
export const DUMP_FILE_NAME = 'tsdb_dump.tar.gz';

/** `plugin-data/mattermost-plugin-metrics/dump/<id>` — throws on a malformed id so no key can escape the folder. */
export function dumpDir(id: string): string {
  if (!isValidId(id)) throw new Error(`bad job id ${JSON.stringify(id)}`);
  return `${DUMP_ROOT}/${id}`;
}

/** `plugin-data/mattermost-plugin-metrics/dump/<id>/tsdb_dump.tar.gz`. */
export function dumpLocation(id: string): string {
  return `${dumpDir(id)}/${DUMP_FILE_NAME}`;
}
