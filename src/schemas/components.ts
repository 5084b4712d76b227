import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';

/**
 * Shared schemas: registered once on the app (`app.addSchema`, see `sharedSchemas`), named in
 * the OpenAPI document's `components.schemas`, and referenced from the routes by `ref`. One
 * serializer is compiled for each response schema instead of one per route, and the document
 * names each schema once instead of repeating it for every route.
 */
export interface Component<T extends TSchema = TSchema> {
  /** The name: the schema's `$id` and its key in `components.schemas`. */
  readonly id: string;
  /** The schema as it is registered (with its `$id`). */
  readonly schema: T & { $id: string };
  /** `{ $ref: '<id>#' }`, typed as the schema. */
  readonly ref: TUnsafe<Static<T>>;
}

export function component<T extends TSchema>(id: string, schema: T): Component<T> {
  // A plain copy: TypeBox's own markers (Optional) stay on the original, which routes still use inline.
  return { id, schema: { ...schema, $id: id }, ref: Type.Unsafe<Static<T>>({ $ref: `${id}#` }) };
}

/** Registers the components on the app (before its routes are compiled, i.e. before `ready()`). */
export function addComponents(app: { addSchema(schema: unknown): unknown }, components: readonly Component[]): void {
  for (const c of components) app.addSchema(c.schema);
}
