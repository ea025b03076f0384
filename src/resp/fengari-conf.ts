// fengari reads its configuration from the environment once, when it loads: integral floats print
// as Lua 5.1 prints them ("3", not 5.3's "3.0"), so `redis.call('EXPIRE', k, ttl / 1000)` works as in
// Redis. Imported by lua.ts before fengari; lua.ts removes the variable again once fengari is loaded.
process.env.FENGARICONF = JSON.stringify({ LUA_COMPAT_FLOATSTRING: true });
