/**
 * What a structure really costs: the growth of the V8 heap and of the array buffers while it is
 * built and kept, between full collections (with time for the sweeper to hand back freed buffers).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** bytes the heap and the array buffers grew by while `make` built what it returns (kept by the caller) */
export async function grownBy<T>(make: () => T): Promise<{ made: T; measured: number }> {
  await settle();
  const m0 = process.memoryUsage();
  const made = make();
  await settle();
  const m1 = process.memoryUsage();
  return { made, measured: m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers) };
}
