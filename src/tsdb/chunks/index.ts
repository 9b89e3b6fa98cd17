/** Block chunk segment files: refs, writer, reader. */
export * from './meta.js';
export * from './errors.js';
export * from './writer.js';
export * from './reader.js';
