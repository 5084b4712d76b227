import { parseSize } from '../schema/property-string.js';
import type { Value } from './types.js';

/**
 * Drive keys of a guest configuration and the parts of a drive value the handlers read, in one
 * place (qemu-server's `is_valid_drivename`, `drive_is_cdrom`, the `size=` option).
 */

const BUS_DRIVE = /^(?:scsi|virtio|sata|ide)\d+$/;
const QEMU_DRIVE = /^(?:scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$/;
const UNUSED = /^unused\d+$/;
const CT_VOLUME = /^rootfs$|^mp\d+$/;

/** `scsi0`, `virtio1`, `sata2`, `ide3`: a disk or CD-ROM on a bus. */
export const isBusDrive = (key: string): boolean => BUS_DRIVE.test(key);
/** A QEMU drive: a bus drive, `efidisk0` or `tpmstate0`. */
export const isQemuDrive = (key: string): boolean => QEMU_DRIVE.test(key);
/** A QEMU drive or an `unusedN` volume. */
export const isQemuVolumeKey = (key: string): boolean => QEMU_DRIVE.test(key) || UNUSED.test(key);
/** Any key that may name a volume, QEMU's or a container's (`rootfs`, `mpN`). */
export const isVolumeKey = (key: string): boolean => isQemuVolumeKey(key) || CT_VOLUME.test(key);

/** The volume (or `none`, or a path) a drive value starts with. */
export const volidOf = (value: Value | unknown): string => String(value).split(',', 1)[0]!;
export const isCloudinit = (value: Value | unknown): boolean => /vm-\d+-cloudinit/.test(volidOf(value));
/** The value carries `media=cdrom` (CD-ROMs and the cloud-init drive). */
export const hasCdromMedia = (value: Value | unknown): boolean => /(?:^|,)media=cdrom(?:,|$)/.test(String(value));
/** qemu-server `drive_is_cdrom($drive, 1)`: a CD-ROM that is not the cloud-init drive. */
export const isCdrom = (value: Value | unknown): boolean => hasCdromMedia(value) && !isCloudinit(value);

/** The `size=` option of a drive value as written (`32G`), if any. */
export const sizeOption = (value: Value | unknown): string | undefined => /(?:^|,)size=([^,]+)/.exec(String(value))?.[1];
/** The drive's size in bytes (0 without a readable `size=`). */
export function driveSize(value: Value | unknown): number {
  const size = sizeOption(value);
  const bytes = size === undefined ? NaN : parseSize(size);
  return Number.isNaN(bytes) ? 0 : bytes;
}
/** The value with its `size=` replaced (the option must be there). */
export const withSize = (value: string, size: string): string => value.replace(/(^|,)size=[^,]+/, `$1size=${size}`);
/** The options after the volume, without `size=` (for a value rebuilt on another volume). */
export const optionsWithoutSize = (value: Value | unknown): string[] => String(value).split(',').slice(1).filter((p) => !p.startsWith('size='));
