export * from './labels.js';
export * from './value.js';
export * from './errors.js';
export * from './appender.js';
export * from './iterator.js';
export * from './matcher.js';
export * from './querier.js';
export * from './selector.js';
