// fengari ships no types: the parts of its C API cairn's scripting uses, typed loosely.
declare module 'fengari' {
  export type LuaState = object;
  export const lua: any;
  export const lauxlib: any;
  export const lualib: any;
  export function to_luastring(s: string, cache?: boolean): Uint8Array;
  export function to_jsstring(s: Uint8Array): string;
}
