/** The selector parser lives in src/storage (the dump builder needs it too); re-exported for the API. */
export * from '../storage/selector.js';
