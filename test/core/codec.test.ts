import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CodecError, decodePayload, decodeValue, encodePayload, encodeValue } from 'websession';

describe('codec', () => {
  it('round-trips Date, Map, Set, BigInt, undefined and nested objects', () => {
    const value = {
      when: new Date('2020-01-02T03:04:05.678Z'),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, { deep: [1n, null] }],
      ]),
      set: new Set(['x', 'y']),
      big: 12345678901234567890n,
      nothing: undefined,
      nested: { a: [1, { b: 'c' }], empty: {} },
      special: [Number.NaN, -0, Number.POSITIVE_INFINITY],
    };
    const back = decodeValue(encodeValue(value)) as typeof value;
    assert.deepEqual(back, value);
    assert.ok(back.when instanceof Date);
    assert.ok(back.map instanceof Map);
    assert.ok(back.set instanceof Set);
    assert.equal(typeof back.big, 'bigint');
    assert.ok('nothing' in back);
    assert.ok(Object.is(back.special[1], -0));
  });

  it('stores text (a string), not binary', () => {
    assert.equal(typeof encodeValue({ a: 1 }), 'string');
  });

  it('refuses values it cannot store, with a CodecError', () => {
    assert.throws(() => encodeValue({ f() {} }), CodecError);
    assert.throws(() => encodeValue(new (class Custom {})()), CodecError);
    assert.throws(() => encodeValue(Symbol('s')), CodecError);
  });

  it('never runs code or pollutes prototypes while decoding', () => {
    const hostile = [
      '[{"__proto__":1},{"polluted":true}]',
      '[{"constructor":1},{"prototype":2},{"polluted":true}]',
      '[["Date","1); globalThis.pwned = 1; ("]]',
      '[["Function","return 1"]]',
      '["(()=>{globalThis.pwned=1})()"]',
      '[{"toString":1},"x"]',
    ];
    for (const text of hostile) {
      try {
        const v = decodeValue(text) as Record<string, unknown>;
        assert.equal(typeof v === 'function', false);
      } catch (err) {
        assert.ok(err instanceof CodecError);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((globalThis as Record<string, unknown>).pwned, undefined);
  });

  it('throws CodecError (never anything else) for any garbage text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          decodePayload(text);
          return true;
        } catch (err) {
          return err instanceof CodecError;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects a valid devalue text that is not a session payload', () => {
    assert.throws(() => decodePayload(encodeValue([1, 2])), CodecError);
    assert.throws(
      () => decodePayload(encodeValue({ v: 2, meta: { created: 1 }, data: {} })),
      CodecError,
    );
    assert.throws(
      () => decodePayload(encodeValue({ v: 1, meta: { created: 'x' }, data: {} })),
      CodecError,
    );
  });

  it('keeps a string value "__proto__" (only a key of that name is refused)', () => {
    for (const data of [
      { q: '__proto__', list: ['__proto__'] },
      { q: '__proto__', when: new Date(0) }, // devalue path
    ]) {
      const payload = { v: 1 as const, meta: { created: 1 }, data };
      assert.deepEqual(decodePayload(encodePayload(payload)).data, data);
    }
    assert.throws(
      () => decodePayload('{"v":1,"meta":{"created":1},"data":{"a":[{"__proto__":{"x":1}}]}}'),
      CodecError,
    );
  });

  it('property: any JSON-like data round-trips through a payload (or is refused for __proto__ keys)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const payload = { v: 1 as const, meta: { created: 1 }, data };
        if (hasProtoKey(data)) {
          assert.throws(() => encodePayload(payload), CodecError);
        } else {
          assert.deepEqual(decodePayload(encodePayload(payload)).data, data);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** True when `value` has an own key `__proto__` at any depth (a value "__proto__" is fine). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value === null || typeof value !== 'object') return false;
  return Object.keys(value).some(
    (key) => key === '__proto__' || hasProtoKey((value as Record<string, unknown>)[key]),
  );
}
