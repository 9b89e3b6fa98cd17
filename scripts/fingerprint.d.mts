/** Types for fingerprint.mjs (see there). */
export function listSources(dir: string, rel?: string): string[];
export function fingerprint(dir: string, files?: string[]): string;
export function statFingerprint(dir: string, files?: string[]): string;
export function builtFrom(srcDir: string, distDir: string): boolean;
