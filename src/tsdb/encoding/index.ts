export * from './crc32c.js';
export * from './encbuf.js';
export * from './decbuf.js';
export * from './errors.js';
