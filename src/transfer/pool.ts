/**
 * The codec pool: block encoding and decoding on piscina worker threads, or on the calling thread
 * when `workers` is 0. Tasks may finish in any order; callers keep their own order.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerFile } from '../paths.js';
import { decodeBlock, encodeBlock, type DecodeTask, type EncodeTask } from './codec.js';
import { TransferError } from './format.js';

/** min(4, cores - 1), at least 1 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export interface CodecPool {
  readonly workers: number;
  encode(task: EncodeTask): Promise<Uint8Array>;
  decode(task: DecodeTask): Promise<ArrayBuffer>;
  close(): Promise<void>;
}

class InlinePool implements CodecPool {
  readonly workers = 0;
  async encode(task: EncodeTask): Promise<Uint8Array> {
    return encodeBlock(task);
  }
  async decode(task: DecodeTask): Promise<ArrayBuffer> {
    return decodeBlock(task);
  }
  async close(): Promise<void> {}
}

class WorkerPool implements CodecPool {
  private readonly pool: Piscina;
  constructor(readonly workers: number) {
    this.pool = new Piscina({ filename: workerFile('transfer-codec'), minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
  }
  encode(task: EncodeTask): Promise<Uint8Array> {
    return this.pool.run(task, { name: 'encode', transferList: [task.packed] }) as Promise<Uint8Array>;
  }
  decode(task: DecodeTask): Promise<ArrayBuffer> {
    // decodeBlock throws TransferErrors; they cross the thread as plain Errors
    return (this.pool.run(task, { name: 'decode', transferList: [task.body] }) as Promise<ArrayBuffer>).catch((err: Error) => {
      throw new TransferError(err.message);
    });
  }
  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }
}

export function createCodecPool(workers: number): CodecPool {
  return workers > 0 ? new WorkerPool(workers) : new InlinePool();
}
