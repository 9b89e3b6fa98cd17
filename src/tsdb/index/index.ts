/** Index format v2: staged writer, reader, postings helpers, byte-order comparison. */
export * from './errors.js';
export * from './order.js';
export * from './postings.js';
export * from './writer.js';
export * from './reader.js';
