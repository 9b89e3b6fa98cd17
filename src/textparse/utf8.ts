/**
 * UTF-8 validity and byte → string decoding for the parsers and the scrape loop.
 *
 * `isValidUTF8` matches Go's `utf8.Valid` (what Prometheus 2.42 applies to label
 * values and HELP text): shortest-form sequences only, no surrogates (U+D800–DFFF),
 * nothing above U+10FFFF. It is allocation-free and has an ASCII fast loop, so the
 * scrape loop can call it per label value.
 *
 * Decoding goes through a Node `Buffer` view of the body (no copy): `latin1Slice`
 * for byte-preserving keys and ASCII names, `utf8Slice` for values. Invalid UTF-8
 * only ever reaches `utf8Slice` for comments, units and exemplar labels (which
 * Prometheus does not validate either); it decodes to U+FFFD there.
 */

/** True when b[start, end) is valid UTF-8 as Go's utf8.Valid defines it. */
export function isValidUTF8(b: Uint8Array, start = 0, end = b.length): boolean {
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2) return false; // continuation byte or overlong 2-byte lead
    if (c < 0xe0) {
      if (i + 1 >= end || (b[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= end) return false;
      const c1 = b[i + 1]!;
      if (c === 0xe0 ? c1 < 0xa0 || c1 > 0xbf : c === 0xed ? c1 < 0x80 || c1 > 0x9f : (c1 & 0xc0) !== 0x80)
        return false;
      if ((b[i + 2]! & 0xc0) !== 0x80) return false;
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= end) return false;
      const c1 = b[i + 1]!;
      if (c === 0xf0 ? c1 < 0x90 || c1 > 0xbf : c === 0xf4 ? c1 < 0x80 || c1 > 0x8f : (c1 & 0xc0) !== 0x80)
        return false;
      if ((b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

/** What we need from Node's Buffer: its native slice decoders (undocumented but stable, used by undici). */
interface NativeSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** A zero-copy Buffer over `b` exposing the native decoders. */
export function nativeView(b: Uint8Array): NativeSlices {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength) as unknown as NativeSlices;
}

/**
 * One char per byte (latin1). Injective, so equal strings ⇔ equal bytes: the right
 * key for a cache of raw series bytes, and exact for the ASCII-only metric and label
 * names the lexers admit.
 */
export function latin1String(b: Uint8Array, start = 0, end = b.length): string {
  if (end - start <= 16) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  return nativeView(b).latin1Slice(start, end);
}
