// fengari ships no types: its C-style API (lua, lauxlib, lualib) is used untyped by src/resp/lua.ts.
declare module 'fengari' {
  // biome-ignore lint/suspicious/noExplicitAny: fengari's untyped C API
  type Api = any;
  export const lua: Api;
  export const lauxlib: Api;
  export const lualib: Api;
  export function to_luastring(s: string, cache?: boolean): Uint8Array;
  export function to_jsstring(s: Uint8Array): string;
}
