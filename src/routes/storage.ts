import * as S from '../schemas/proxmox.js';
import { roleRun } from './plans.js';
import type { RouteDef } from './types.js';

const STORAGE = '/v0/admin/proxmox/storage';
const TAGS = ['proxmox - storage'];

export const storageRoutes: RouteDef[] = [
  {
    method: 'POST', url: `${STORAGE}/storage_name/list_iso`, operationId: 'storage_list_iso', tags: TAGS, summary: 'List the ISO images of a storage',
    body: S.StorageRequest, output: { resultKey: 'storage_list_iso' },
    plan: (b, ctx) => roleRun(ctx, 'storage_list_iso', { proxmox_node: b.proxmox_node, storage_name: b.storage_name }),
  },
  {
    method: 'POST', url: `${STORAGE}/storage_name/list_template`, operationId: 'storage_list_template', tags: TAGS, summary: 'List the container templates of a storage',
    body: S.StorageRequest, output: { resultKey: 'storage_list_template' },
    // The role reads the storage from proxmox_storage for this action.
    plan: (b, ctx) => roleRun(ctx, 'storage_list_template', { proxmox_node: b.proxmox_node, storage_name: b.storage_name, proxmox_storage: b.storage_name }),
  },
  {
    method: 'POST', url: `${STORAGE}/list`, operationId: 'storage_list', tags: TAGS, summary: 'List the storages of a node',
    body: S.StorageRequest, output: { resultKey: 'storage_list' },
    plan: (b, ctx) => roleRun(ctx, 'storage_list', { proxmox_node: b.proxmox_node, storage_name: b.storage_name }),
  },
  {
    method: 'POST', url: `${STORAGE}/download_iso`, operationId: 'storage_download_iso', tags: TAGS, summary: 'Have the node download an ISO image',
    body: S.DownloadIsoRequest, output: { resultKey: 'storage_download_iso' },
    plan: (b, ctx) => roleRun(ctx, 'storage_download_iso', {
      proxmox_node: b.proxmox_node, proxmox_storage: b.proxmox_storage, iso_file_content_type: b.iso_file_content_type, iso_file_name: b.iso_file_name, iso_url: b.iso_url,
    }),
  },
];
