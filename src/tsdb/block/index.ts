/** Persisted blocks: meta.json, writer, reader, querier, matcher → postings. */
export * from './meta.js';
export * from './writer.js';
export * from './block.js';
export * from './querier.js';
export * from './postings-for-matchers.js';
export * from './block-writer.js';
