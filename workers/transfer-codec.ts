/**
 * piscina task file for `cairn export` / `cairn import`: encoding and decoding of export blocks
 * (src/transfer/codec.ts) off the main thread. Results are moved back, not copied.
 */
import { move } from 'piscina';
import { decodeBlock, encodeBlock, type DecodeTask, type EncodeTask } from '../src/transfer/codec.js';

export function encode(task: EncodeTask): unknown {
  return move(encodeBlock(task));
}

export function decode(task: DecodeTask): unknown {
  return move(decodeBlock(task));
}
