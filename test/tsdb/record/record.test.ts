import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Encbuf } from '../../../src/tsdb/encoding/index.js';
import { Labels } from '../../../src/storage/index.js';
import {
  RecordType,
  recordType,
  recordTypeName,
  SampleBatch,
  encodeSamples,
  decodeSamples,
  SeriesBatch,
  encodeSeries,
  decodeSeries,
  TombstoneBatch,
  encodeTombstones,
  decodeTombstones,
  ExemplarBatch,
  encodeExemplars,
  decodeExemplars,
  MetadataBatch,
  encodeMetadata,
  decodeMetadata,
  RecordError,
} from '../../../src/tsdb/record/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
const str = (s: string) => (s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex'));

describe('golden bytes (layouts of Prometheus 2.42 record.go)', () => {
  test('a samples record holds ref0/t0 as BE64, signed varint deltas for every sample and raw value bits; stale and NaN use Go bit patterns', () => {
    const b = new SampleBatch();
    b.push(5, 1000, 1.5);
    b.pushStale(3, 1000);
    b.push(7, 1015, NaN);
    const out = new Encbuf();
    encodeSamples(b, out);
    expect(hex(out.get())).toBe(
      '02' + '0000000000000005' + '00000000000003e8' + '00' + '00' + '3ff8000000000000' + '03' + '00' + '7ff0000000000002' + '04' + '1e' + '7ff8000000000001',
    );
    const d = new SampleBatch(1);
    decodeSamples(out.get(), d);
    expect(d.length).toBe(3);
    expect(Array.from(d.refs.subarray(0, 3))).toEqual([5, 3, 7]);
    expect(Array.from(d.ts.subarray(0, 3))).toEqual([1000, 1000, 1015]);
    expect(Array.from(d.stale.subarray(0, 3))).toEqual([0, 1, 0]);
    expect(d.vs[0]).toBe(1.5);
    expect(Number.isNaN(d.vs[2])).toBe(true);
  });

  test('an empty samples record is the type byte alone', () => {
    const out = new Encbuf();
    encodeSamples(new SampleBatch(), out);
    expect(hex(out.get())).toBe('02');
    const d = new SampleBatch();
    d.push(1, 1, 1);
    decodeSamples(out.get(), d);
    expect(d.length).toBe(0);
  });

  test('a series record holds BE64 refs and uvarint-prefixed sorted label pairs', () => {
    const b = new SeriesBatch();
    b.push(1, Labels.fromObject({ job: 'x', __name__: 'up' }));
    const out = new Encbuf();
    encodeSeries(b, out);
    expect(hex(out.get())).toBe('01' + '0000000000000001' + '02' + str('__name__') + str('up') + str('job') + str('x'));
    const d = new SeriesBatch();
    decodeSeries(out.get(), d);
    expect(d.length).toBe(1);
    expect(d.refs[0]).toBe(1);
    expect(d.labels[0]!.toString()).toBe('{__name__="up", job="x"}');
  });

  test('a tombstones record holds BE64 ref and signed varint mint/maxt', () => {
    const b = new TombstoneBatch();
    b.push(2, -5, 10);
    const out = new Encbuf();
    encodeTombstones(b, out);
    expect(hex(out.get())).toBe('03' + '0000000000000002' + '09' + '14');
    const d = new TombstoneBatch();
    decodeTombstones(out.get(), d);
    expect([d.refs[0], d.mints[0], d.maxts[0], d.length]).toEqual([2, -5, 10, 1]);
  });

  test('the exemplar record of the spec (§10.4, written by Prometheus 2.42) decodes to ref 18, t 1520879607789, 1.5, {trace_id="abc"}', () => {
    const rec = unhex('04 0000000000000012 000001621b7d1fed 00 00 3ff8000000000000 01' + str('trace_id') + str('abc'));
    const d = new ExemplarBatch();
    decodeExemplars(rec, d);
    expect(d.length).toBe(1);
    expect([d.refs[0], d.ts[0], d.vs[0]]).toEqual([18, 1520879607789, 1.5]);
    expect(d.labels[0]!.toString()).toBe('{trace_id="abc"}');
    const out = new Encbuf();
    encodeExemplars(d, out);
    expect(hex(out.get())).toBe(hex(rec));
  });

  test('a metadata record holds a uvarint ref, the type byte and UNIT/HELP fields', () => {
    const b = new MetadataBatch();
    b.push(3, 1, '', 'h');
    const out = new Encbuf();
    encodeMetadata(b, out);
    expect(hex(out.get())).toBe('06' + '03' + '01' + '02' + str('UNIT') + '00' + str('HELP') + str('h'));
    const d = new MetadataBatch();
    decodeMetadata(unhex('06 03 01 03' + str('UNIT') + str('s') + str('OTHER') + str('x') + str('HELP') + str('h')), d);
    expect([d.length, d.refs[0], d.types[0], d.units[0], d.helps[0]]).toEqual([1, 3, 1, 's', 'h']);
  });

  test.each([
    [new Uint8Array([]), RecordType.Unknown, 'unknown'],
    [new Uint8Array([1]), RecordType.Series, 'series'],
    [new Uint8Array([6]), RecordType.Metadata, 'metadata'],
    [new Uint8Array([8]), RecordType.FloatHistogramSamples, 'float_histogram_samples'],
    [new Uint8Array([9]), RecordType.Unknown, 'unknown'],
  ])('record type of %s is %s (%s)', (rec, t, name) => {
    expect(recordType(rec)).toBe(t);
    expect(recordTypeName(recordType(rec))).toBe(name);
  });
});

describe('malformed records are RecordErrors naming the offset', () => {
  test.each([
    ['a truncated value', '02 0000000000000001 0000000000000001 00 00 3ff8'],
    ['a truncated varint', '02 0000000000000001 0000000000000001 80'],
    ['a truncated base', '02 00000000'],
    ['a different type byte', '01 00'],
  ])('samples with %s are rejected', (_name, h) => {
    expect(() => decodeSamples(unhex(h), new SampleBatch())).toThrow(RecordError);
  });

  test('a series record with a label count beyond its bytes is rejected', () => {
    expect(() => decodeSeries(unhex('01 0000000000000001 05 01 61'), new SeriesBatch())).toThrow(RecordError);
  });

  test('a ref above 2^53 in foreign data is an error, not a rounded number', () => {
    expect(() => decodeTombstones(unhex('03 ffffffffffffffff 00 00'), new TombstoneBatch())).toThrow(/2\^53/);
  });
});

describe('round trips (fast-check)', () => {
  const ts = fc.integer({ min: -(2 ** 45), max: 2 ** 45 });
  const ref = fc.integer({ min: 0, max: 2 ** 40 });
  test('samples: refs, timestamps, values and stale flags survive bit-exactly (NaN becomes Go NaN)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ref, ts, fc.double(), fc.boolean()), { maxLength: 300 }), (rows) => {
        const b = new SampleBatch(1);
        for (const [r, t, v, s] of rows) {
          if (s) b.pushStale(r, t);
          else b.push(r, t, v);
        }
        const out = new Encbuf(16);
        encodeSamples(b, out);
        const d = new SampleBatch(1);
        decodeSamples(out.get(), d);
        expect(d.length).toBe(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const [r, t, v, s] = rows[i]!;
          expect(d.refs[i]).toBe(r);
          expect(d.ts[i]).toBe(t);
          expect(d.stale[i]).toBe(s ? 1 : 0);
          if (!s) expect(Object.is(d.vs[i], v)).toBe(true);
        }
      }),
    );
  });

  const lname = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
  const lset = fc.dictionary(lname, fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }), { maxKeys: 6 }).map((o) => Labels.fromObject(o));
  test('series: refs and label sets (any Unicode) survive', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ref, lset), { maxLength: 50 }), (rows) => {
        const b = new SeriesBatch(1);
        for (const [r, l] of rows) b.push(r, l);
        const out = new Encbuf(8);
        encodeSeries(b, out);
        const d = new SeriesBatch(1);
        decodeSeries(out.get(), d);
        expect(d.length).toBe(rows.length);
        rows.forEach(([r, l], i) => {
          expect(d.refs[i]).toBe(r);
          expect(d.labels[i]!.equals(l)).toBe(true);
        });
      }),
    );
  });

  test('exemplars, tombstones and metadata survive', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ref, ts, ts, lset, fc.string()), { maxLength: 30 }), (rows) => {
        const e = new ExemplarBatch();
        const t = new TombstoneBatch();
        const m = new MetadataBatch();
        for (const [r, a, z, l, s] of rows) {
          e.push(r, a, 0.25, l);
          t.push(r, Math.min(a, z), Math.max(a, z));
          m.push(r, r % 8, s, s + '!');
        }
        const oe = new Encbuf();
        const ot = new Encbuf();
        const om = new Encbuf();
        encodeExemplars(e, oe);
        encodeTombstones(t, ot);
        encodeMetadata(m, om);
        const de = new ExemplarBatch();
        const dt = new TombstoneBatch();
        const dm = new MetadataBatch();
        decodeExemplars(oe.get(), de);
        decodeTombstones(ot.get(), dt);
        decodeMetadata(om.get(), dm);
        expect([de.length, dt.length, dm.length]).toEqual([rows.length, rows.length, rows.length]);
        rows.forEach(([r, a, z, l, s], i) => {
          expect([de.refs[i], de.ts[i], de.vs[i]]).toEqual([r, a, 0.25]);
          expect(de.labels[i]!.equals(l)).toBe(true);
          expect([dt.refs[i], dt.mints[i], dt.maxts[i]]).toEqual([r, Math.min(a, z), Math.max(a, z)]);
          expect([dm.refs[i], dm.types[i], dm.units[i], dm.helps[i]]).toEqual([r, r % 8, s, s + '!']);
        });
      }),
    );
  });
});
