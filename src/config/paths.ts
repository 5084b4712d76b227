import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (this file lives in src/config/ or dist/config/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The catalog's default-infrastructure bundles (one per verb and VM set), relative to its `bundles/`. */
export const DEFAULT_VMS_BUNDLES = 'core/proxmox/configure/default/vms';
/** The default VM sets (`r42_default_vms.<set>`), relative to `DEFAULT_VMS_BUNDLES`. */
export const DEFAULT_VMS_FILE = '_shared/default_vms.yml';
