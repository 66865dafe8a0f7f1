// JS values <-> the WIT `value` variant (`{ tag, val }`, integers as BigInt).

import { UserError } from './errors.js';

export const VALUE_TYPES = ['text', 'integer', 'float', 'boolean'];

const S64_MIN = -(2n ** 63n);
const S64_MAX = 2n ** 63n - 1n;

/** The value type of a JS value, or undefined when it is not a scalar. */
export function typeOfValue(value) {
  switch (typeof value) {
    case 'string':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return value >= S64_MIN && value <= S64_MAX ? 'integer' : undefined;
    case 'number':
      return Number.isSafeInteger(value) ? 'integer' : 'float';
    default:
      return undefined;
  }
}

/** A JS value as a WIT `value`; anything that is not a scalar is sent as its text. */
export function toWit(value) {
  switch (typeOfValue(value)) {
    case 'text':
      return { tag: 'text', val: value };
    case 'boolean':
      return { tag: 'boolean', val: value };
    case 'integer':
      return { tag: 'integer', val: BigInt(value) };
    case 'float':
      return { tag: 'float', val: value };
    default:
      return { tag: 'text', val: String(value) };
  }
}

/** A WIT `value` as a JS value: integers become numbers when they are safe integers. */
export function fromWit(value) {
  if (value.tag === 'integer') {
    const n = Number(value.val);
    return Number.isSafeInteger(n) ? n : value.val;
  }
  return value.val;
}

/** Checks a declared type name (`types: { n: 'integer' }`). */
export function checkType(what, name, type) {
  if (!VALUE_TYPES.includes(type)) {
    throw new UserError(
      `${what} type of "${name}" must be one of ${VALUE_TYPES.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(type)}`,
    );
  }
  return type;
}

/** JSON text of a result: BigInts become numbers (or strings past 2^53). */
export function resultJson(value) {
  return JSON.stringify(value === undefined ? null : value, (_key, v) => {
    if (typeof v === 'bigint') {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v.toString();
    }
    return v;
  });
}
