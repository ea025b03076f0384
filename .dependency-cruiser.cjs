/**
 * The layers of cairn, checked by `npm run layers` (dependency-cruiser) over src/ and
 * workers/. Bottom up, each layer imports only the layers below it:
 *
 *   hop ← engine ← store ← commands ← shard worker ← front ← protocol codecs ← server, gateway,
 *   embedded cache, CLI, transfer, replication
 *
 * The hop (the rings) is at the bottom: a request crosses it between the front and a shard, so both
 * ends import it, and it imports nothing of cairn but the leaves.
 *
 * Leaf modules (errors, hash, version, paths, input-buffer, msgpack settings, and the key-event
 * codes, subscription index and native opcode numbers, which import nothing) may be imported from
 * anywhere. The SDK (src/client) is an island:
 * it speaks the native protocol and imports only its frames, the leaves and itself. workers/shard.ts
 * is the shard thread's composition root: it wires the codecs into the shard's executor.
 *
 * `npm run layers` fails on any violation.
 */
const LEAF = '^src/(errors|hash|version|paths|input-buffer|msgpack)[.]ts$|^src/events/(codes|index)[.]ts$|^src/native/opcodes[.]ts$';

// bottom up; a layer may import those before it, never those after it
const LAYERS = [
  // the rings: both of their ends (a shard, a front thread) import them
  { name: 'hop', path: '^src/hop/' },
  { name: 'engine', path: '^src/engine/' },
  { name: 'store', path: '^src/store/|^src/datadir[.]ts$' },
  { name: 'commands', path: '^src/commands/' },
  { name: 'shards', path: '^src/shards/' },
  { name: 'front', path: '^src/front/' },
  { name: 'codecs', path: '^src/(resp|memcache|native|events|pubsub)/' },
  {
    name: 'apps',
    path: '^src/(server|gateway|replication|transfer|cli)/|^src/(cache|cli|config|index)[.]ts$|^workers/(gateway|transfer-codec)[.]ts$',
  },
];

const APPS_FOLDERS = '^src/(server|gateway|replication|transfer|cli)/';

const CLIENT = '^src/client/';
// what may import the SDK: the library entry, the embedded cache, the command-line client, transfer,
// and replication (a replica is a native client of its primary)
const CLIENT_USERS = '^src/(client/|index[.]ts$|cache[.]ts$|cli[.]ts$|cli/|transfer/|replication/)';
// what the SDK may import: itself, the leaves, the native protocol's frames
const CLIENT_DEPS = `${CLIENT}|${LEAF}|^src/native/(frame|opcodes)[.]ts$`;

const CODECS = ['resp', 'memcache', 'native', 'events', 'pubsub'];
// pub/sub is RESP's: its replies are RESP encodings and its patterns RESP globs
// the native router serves key-event subscriptions (events) and channels (pubsub) to native clients
const CODEC_USES = { pubsub: ['resp'], native: ['events', 'pubsub'] };

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer.name}-imports-down`,
  comment: `${layer.name} imports only the layers below it (${LAYERS.slice(0, i).map((l) => l.name).join(', ') || 'leaves only'})`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: [...LAYERS.slice(i + 1).map((l) => l.path), CLIENT].join('|'), pathNot: LEAF },
}));

const codecRules = CODECS.map((codec) => ({
  name: `${codec}-stands-alone`,
  comment: `a protocol codec does not import another codec (${codec})`,
  severity: 'error',
  from: { path: `^src/${codec}/` },
  to: { path: `^src/(${CODECS.filter((c) => c !== codec && !(CODEC_USES[codec] ?? []).includes(c)).join('|')})/`, pathNot: LEAF },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      // a cycle through `import type` alone changes no load order (the layer rules still count types)
      comment: 'no import cycles',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'leaves-are-leaves',
      comment: 'a leaf module imports only other leaves',
      severity: 'error',
      from: { path: LEAF },
      to: { path: '^(src|workers)/', pathNot: LEAF },
    },
    ...layerRules,
    ...codecRules,
    {
      name: 'apps-stand-alone',
      comment:
        'gateway, replication, transfer and the CLI share code through the layers below, not through each other or the server (a shared message or report type is allowed)',
      severity: 'error',
      from: { path: '^src/(gateway|replication|transfer|cli)/|^src/cache[.]ts$' },
      to: { path: APPS_FOLDERS, pathNot: '^src/$1/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'server-composes-replication',
      comment: 'the server starts replication and the gateway thread (sharing their message types); it imports no other app code',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(gateway|transfer|cli)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shard-root-below-front',
      comment: "workers/shard.ts wires the layers up to the codecs, never the front or the apps",
      severity: 'error',
      from: { path: '^workers/shard[.]ts$' },
      to: { path: [LAYERS[5].path, LAYERS[7].path, CLIENT].join('|') },
    },
    {
      name: 'client-is-an-island',
      comment: 'the SDK imports only itself, the leaves and the native frames',
      severity: 'error',
      from: { path: CLIENT },
      to: { path: '^(src|workers)/', pathNot: CLIENT_DEPS },
    },
    {
      name: 'client-users',
      comment: 'only the library entry, the embedded cache, the CLI and transfer use the SDK',
      severity: 'error',
      from: { pathNot: CLIENT_USERS },
      to: { path: CLIENT },
    },
    {
      name: 'workers-are-entries',
      comment: 'a worker entry is started by path, never imported',
      severity: 'error',
      from: {},
      // but workers/executors.ts: the shard side's wiring of the codecs, for the shard thread and inline mode
      to: { path: '^workers/', pathNot: '^workers/executors[.]ts$' },
    },
  ],
  options: {
    includeOnly: '^(src|workers)/',
    tsConfig: { fileName: 'tsconfig.json' },
    // type-only imports count: a type from a layer above is a dependency on it all the same
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
