import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/**
 * The admin and vuln default-infrastructure bundles, every route of both, end to end through the
 * API on the simulator. Their routes share their code with the student ones (tests/e2e/bundles)
 * and differ in the default VM set they act on; each VM costs about three Proxmox calls, i.e. a
 * CPU second of Ansible, so the sets are narrowed to one VM each by inventory variables of the
 * Proxmox host (VM_IDS for power and snapshots, VMS for deletes) — the requests themselves are
 * exactly what a client sends. create-vms-* take the whole set (the contract requires every key):
 * the VM deleted first is cloned again, the others exist and are only re-tagged, re-configured and
 * started when stopped.
 */

const SETS = {
  admin: { id: 1020, name: 'admin-deployer-api-gateway', template: 9221, others: [1000, 1021, 1023], net: '192.168.142' },
  vuln: { id: 4001, name: 'vuln-box-01', template: 9221, others: [4000, 4002, 4003, 4004], net: '192.168.144' },
};

const SLOW = { timeout: 240_000 };

for (const [role, set] of Object.entries(SETS)) {
  describe(`the ${role} set`, () => {
    // One stack per set: the narrowing variables name that set's VM only.
    let s: Stack;
    beforeAll(async () => {
      s = await startStack({ hostVars: { VM_IDS: [set.id], VMS: [{ ID: set.id, NAME: set.name }] } });
    });
    afterAll(async () => s.close());
    /** What must not change for the rest of the set: existence, disk (no new clone), snapshots. */
    const othersState = () => set.others.map((id) => s.guest(id) && `${String(s.config(id).scsi0)}/${s.guest(id)!.snapshots.length}`);
    let before: unknown[];

    it(`delete-vms-${role}, then create-vms-${role} clones it again from its template`, SLOW, async () => {
      before = othersState();
      await s.ok(`bundle_delete_vms_${role}`);
      expect(s.guest(set.id)).toBeUndefined();
      const a = await s.op(`bundle_create_vms_${role}`);
      expect(a.status, JSON.stringify(a.body).slice(-1200)).toBe(200);
      expect(a.body.rc).toBe(0);
      expect(s.guest(set.id)!.status).toBe('running');
      const config = s.config(set.id);
      expect(config.name).toBe(set.name);
      expect(String(config.scsi0)).toMatch(new RegExp(`^local-lvm:(base-${set.template}-disk-0/)?vm-${set.id}-disk-0`));
      expect(String(config.ipconfig0)).toMatch(new RegExp(`^ip=${set.net.replace(/\./g, '\\.')}\\.\\d+/24`));
      expect(String(config.tags)).toContain(role);
    });

    it(`snapshot/create-vms-${role} and snapshot/revert-vms-${role}`, SLOW, async () => {
      await s.ok(`bundle_snapshot_create_vms_${role}`);
      const snaps = s.guest(set.id)!.snapshots.map((x) => x.name);
      expect(snaps).toHaveLength(1);
      expect(snaps[0]).toMatch(/^default-snapshot-from-API-\d{6}-\d{4}$/);
      await s.ok(`bundle_snapshot_revert_vms_${role}`, { proxmox_node: 'px-testing', vm_snapshot_name: snaps[0] });
      expect(s.guest(set.id)!.config.parent).toBe(snaps[0]);
    });

    it(`stop, start, pause, resume the ${role} set`, SLOW, async () => {
      await s.ok(`bundle_stop_vms_${role}`);
      expect(s.guest(set.id)!.status).toBe('stopped');
      await s.ok(`bundle_start_vms_${role}`);
      expect(s.guest(set.id)!.status).toBe('running');
      await s.ok(`bundle_pause_vms_${role}`);
      expect(s.guest(set.id)!.qmpstatus).toBe('paused');
      await s.ok(`bundle_resume_vms_${role}`);
      expect(s.guest(set.id)!.qmpstatus).toBe('running');
    });

    it('the rest of the set was left alone: not deleted, not cloned again, not snapshotted', () => {
      expect(othersState()).toEqual(before);
    });
  });
}
