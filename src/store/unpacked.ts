/**
 * Packed collections decoded for a change and not yet packed back. A packed collection's engine entry
 * holds its bytes (src/engine/collections/listpack.ts); writeCollection decodes it into its structure
 * for the command, and collectionChanged packs that structure back. Between the two the structure is
 * kept here, found by the entry's ref and CAS (a CAS names one version of one key, so a copy of bytes
 * rewritten since is never returned), so that a second look in the same command (SMOVE or LMOVE of
 * one key, a write then a read) finds the same structure with its changes.
 *
 * A command holds at most two at once, and one that changed nothing leaves its copy behind (it calls
 * collectionChanged only after a change): past MAX copies the oldest goes. Refs and CASes sit in
 * arrays scanned linearly, as there are a handful: no key strings and no allocation per command.
 */
import type { Collection } from '../engine/collections/types.js';

const MAX = 16;

export class UnpackedCollections {
  private readonly refs: number[] = [];
  private readonly cases: number[] = [];
  private readonly objs: Collection[] = [];

  get size(): number {
    return this.refs.length;
  }

  /** the structure decoded from the entry at ref in its version cas, if one is kept */
  find(ref: number, cas: number): Collection | undefined {
    const i = this.indexOf(ref, cas);
    return i < 0 ? undefined : this.objs[i];
  }

  /** as find, and forgets it */
  take(ref: number, cas: number): Collection | undefined {
    const i = this.indexOf(ref, cas);
    if (i < 0) return undefined;
    const obj = this.objs[i];
    this.removeAt(i);
    return obj;
  }

  keep(ref: number, cas: number, obj: Collection): void {
    const i = this.indexOf(ref, cas);
    if (i >= 0) this.removeAt(i);
    else if (this.refs.length >= MAX) this.removeAt(0);
    this.refs.push(ref);
    this.cases.push(cas);
    this.objs.push(obj);
  }

  clear(): void {
    this.refs.length = 0;
    this.cases.length = 0;
    this.objs.length = 0;
  }

  private indexOf(ref: number, cas: number): number {
    const refs = this.refs;
    for (let i = refs.length - 1; i >= 0; i--) if (refs[i] === ref && this.cases[i] === cas) return i;
    return -1;
  }

  private removeAt(i: number): void {
    this.refs.splice(i, 1);
    this.cases.splice(i, 1);
    this.objs.splice(i, 1);
  }
}
