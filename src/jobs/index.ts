/** Public surface of the jobs layer: the job record, the stores, the runner and the builder seam. */
export * from './types.js';
export * from './builder.js';
export * from './errors.js';
export * from './id.js';
export * from './paths.js';
export * from './groups.js';
export * from './file-store.js';
export * from './local-artifacts.js';
export * from './runner.js';
