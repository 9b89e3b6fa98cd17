/** Chunk encodings: contracts, the XOR float chunk, bit streams and the head's chunk-cutting rule. */
export * from './chunk.js';
export * from './errors.js';
export * from './bstream.js';
export * from './buffer-pool.js';
export * from './xor.js';
export * from './cut.js';
export { floatHi, floatLo, floatFromBits } from './u64.js';
export * from './from-data.js';
