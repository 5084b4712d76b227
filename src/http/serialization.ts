import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;
type Serializer = ReturnType<ReturnType<SerializerFactory>>;

/**
 * Fastify's serializer factory (fast-json-stringify, the default), compiling each distinct
 * response schema once per app. Fastify asks for one serializer per route and status code (and,
 * once shared schemas are added, builds a new compiler for every route), while most routes answer
 * with the same few shared schemas (`{ $ref: 'DetailResponse#' }`, schemas/common.ts). A
 * serializer depends only on its schema and on the shared schemas it may refer to, so those
 * (by `$id`) and the schema's text are the key.
 */
export function sharedSerializers(): SerializerFactory {
  const build = SerializerSelector();
  const compiled = new Map<string, Serializer>();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    const shared = Object.keys((externalSchemas ?? {}) as object).join('\u0000');
    return (route) => {
      const key = `${shared}\u0001${JSON.stringify(route.schema)}`;
      let serialize = compiled.get(key);
      if (!serialize) {
        serialize = compile(route);
        compiled.set(key, serialize);
      }
      return serialize;
    };
  };
}
