/**
 * The YAML configuration file. Keys are the Config property names (see types.ts and the
 * commented example in src/config/mm-metrics.example.yaml):
 *
 *   scrape:
 *     interval: 30s
 *   fileStore:
 *     driver: s3
 *     s3: { bucket: mm-metrics, endpoint: "minio.internal:9000", ssl: false }
 *
 * YAML 1.2 core schema: `yes`/`no` are strings, not booleans (so `enable: yes` is reported
 * rather than silently read one way or the other). Duplicate keys are errors. Syntax errors and
 * validation errors point at file:line:column.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { InputTree } from './defaults.js';
import { parseError, readError } from './errors.js';
import { isTree, type ConfigLayer } from './layers.js';

/** Parses YAML text into a layer; `file` is used in messages. */
export function yamlLayer(text: string, file: string): ConfigLayer {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const lp = lc.linePos(e.pos[0]);
    throw parseError('YAML file', `${file}:${lp.line}:${lp.col}`, e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw parseError('YAML file', file, e instanceof Error ? e.message : String(e));
  }
  if (js === null || js === undefined) js = {};
  if (!isTree(js)) throw parseError('YAML file', `${file}:1:1`, 'expected a mapping of settings at the top level');
  return {
    name: `YAML file ${file}`,
    values: js as InputTree,
    describe(path) {
      // The deepest node on the path that exists in the document (a value set inside a list, or the list).
      for (let n = path.length; n > 0; n--) {
        const node: unknown = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          const lp = lc.linePos(node.range[0]);
          return `${file}:${lp.line}:${lp.col}`;
        }
      }
      return file;
    },
  };
}

/** Reads and parses a YAML configuration file. */
export async function fromYamlFile(file: string): Promise<ConfigLayer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw readError('configuration file', file, e);
  }
  return yamlLayer(text, file);
}
