import { debugRoutes } from './debug.js';
import type { RouteDef } from './types.js';

/** Every HTTP operation of the API, in registration order. */
export const routeTable: readonly RouteDef[] = [...debugRoutes];
