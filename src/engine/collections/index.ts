/** The collection structures and their decoding by type. */
import { HashValue } from './hash.js';
import { ListValue } from './list.js';
import { SetValue } from './set.js';
import { StreamValue } from './stream.js';
import { type Collection, ValueType } from './types.js';
import { ZSetValue } from './zset.js';

export * from './types.js';
export { LISTPACK_ENTRIES, LISTPACK_VALUE, packable, packedForm } from './listpack.js';
export { HashValue, ListValue, SetValue, StreamValue, ZSetValue };

/** a collection from its `encode()` bytes; throws on a type that is not a collection */
export function decodeCollection(type: number, bytes: Buffer): Collection {
  switch (type) {
    case ValueType.HASH:
      return HashValue.decode(bytes);
    case ValueType.LIST:
      return ListValue.decode(bytes);
    case ValueType.SET:
      return SetValue.decode(bytes);
    case ValueType.ZSET:
      return ZSetValue.decode(bytes);
    case ValueType.STREAM:
      return StreamValue.decode(bytes);
    default:
      throw new Error(`no collection of type ${type}`);
  }
}
