/**
 * The set commands' rows of the command table (src/commands/table.ts), as Redis 7 declares them.
 * The commands over several keys run where all their keys are (route 'same': a {hash tag} puts them
 * on one shard); SINTERCARD finds its keys from its numkeys argument (def.ts).
 */
import { ALL_KEYS, type Def, NO_KEYS, ONE_KEY, TWO_KEYS } from './def.js';

export const SET_DEFS: Def[] = [
  [
    'sadd',
    -3,
    'write denyoom fast',
    ONE_KEY,
    'write set fast',
    'set',
    '1.0.0',
    'key',
    "Adds one or more members to a set. Creates the key if it doesn't exist.",
  ],
  ['scard', 2, 'readonly fast', ONE_KEY, 'read set fast', 'set', '1.0.0', 'key', 'Returns the number of members in a set.'],
  ['sdiff', -2, 'readonly', ALL_KEYS, 'read set slow', 'set', '1.0.0', 'same', 'Returns the difference of multiple sets.'],
  ['sdiffstore', -3, 'write denyoom', ALL_KEYS, 'write set slow', 'set', '1.0.0', 'same', 'Stores the difference of multiple sets in a key.'],
  ['sinter', -2, 'readonly', ALL_KEYS, 'read set slow', 'set', '1.0.0', 'same', 'Returns the intersect of multiple sets.'],
  [
    'sintercard',
    -3,
    'readonly movablekeys',
    NO_KEYS,
    'read set slow',
    'set',
    '7.0.0',
    'same',
    'Returns the number of members of the intersect of multiple sets.',
  ],
  ['sinterstore', -3, 'write denyoom', ALL_KEYS, 'write set slow', 'set', '1.0.0', 'same', 'Stores the intersect of multiple sets in a key.'],
  ['sismember', 3, 'readonly fast', ONE_KEY, 'read set fast', 'set', '1.0.0', 'key', 'Determines whether a member belongs to a set.'],
  ['smembers', 2, 'readonly', ONE_KEY, 'read set slow', 'set', '1.0.0', 'key', 'Returns all members of a set.'],
  ['smismember', -3, 'readonly fast', ONE_KEY, 'read set fast', 'set', '6.2.0', 'key', 'Determines whether multiple members belong to a set.'],
  ['smove', 4, 'write fast', TWO_KEYS, 'write set fast', 'set', '1.0.0', 'same', 'Moves a member from one set to another.'],
  [
    'spop',
    -2,
    'write fast',
    ONE_KEY,
    'write set fast',
    'set',
    '1.0.0',
    'key',
    'Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.',
  ],
  ['srandmember', -2, 'readonly', ONE_KEY, 'read set slow', 'set', '1.0.0', 'key', 'Get one or multiple random members from a set'],
  [
    'srem',
    -3,
    'write fast',
    ONE_KEY,
    'write set fast',
    'set',
    '1.0.0',
    'key',
    'Removes one or more members from a set. Deletes the set if the last member was removed.',
  ],
  ['sscan', -3, 'readonly', ONE_KEY, 'read set slow', 'set', '2.8.0', 'key', 'Iterates over members of a set.'],
  ['sunion', -2, 'readonly', ALL_KEYS, 'read set slow', 'set', '1.0.0', 'same', 'Returns the union of multiple sets.'],
  ['sunionstore', -3, 'write denyoom', ALL_KEYS, 'write set slow', 'set', '1.0.0', 'same', 'Stores the union of multiple sets in a key.'],
];
