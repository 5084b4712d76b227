/** The simulator's state as plain data, so that it can be seeded from and persisted to JSON. */

export type GuestType = 'qemu' | 'lxc';
export type Value = string | number;
export type Config = Record<string, Value>;

export interface Snapshot {
  name: string;
  description?: string;
  snaptime: number;
  vmstate: 0 | 1;
  parent?: string;
  /** The guest configuration at the time of the snapshot (without snapshot bookkeeping). */
  config: Config;
}

export type FirewallRule = Record<string, Value>;

export interface FirewallAlias {
  name: string;
  cidr: string;
  comment?: string;
}

export interface IpSetEntry {
  cidr: string;
  comment?: string;
  nomatch?: 1;
}

export interface IpSet {
  name: string;
  comment?: string;
  /** Newest first, as pve-firewall inserts them. */
  entries: IpSetEntry[];
}

export interface Firewall {
  options: Config;
  rules: FirewallRule[];
  aliases: FirewallAlias[];
  /** Absent in states written before IP sets were simulated. */
  ipsets?: IpSet[];
}

export interface Guest {
  vmid: number;
  type: GuestType;
  node: string;
  config: Config;
  /** Changes waiting for the next power cycle of a running guest. */
  pending: Config;
  pendingDelete: string[];
  snapshots: Snapshot[];
  status: 'running' | 'stopped';
  /** QEMU's own run state: `paused` while suspended to RAM (status stays `running`). */
  qmpstatus: string;
  /** Epoch milliseconds of the last start; null while stopped. */
  startedAt: number | null;
  /** A fixed CPU usage (0..1) instead of the simulated wandering one: a "busy VM" for demos and tests. */
  cpuLoad?: number;
  firewall: Firewall;
}

export interface NetworkInterface {
  iface: string;
  type: string;
  [key: string]: Value | string[] | undefined;
}

export interface NodeState {
  name: string;
  online: boolean;
  cpus: number;
  /** Bytes. */
  memory: number;
  bootedAt: number;
  network: NetworkInterface[];
  /** The `interfaces.new` copy: edits land here until `PUT /nodes/{node}/network` applies them. */
  pendingNetwork: NetworkInterface[] | null;
  firewall: { options: Config; rules: FirewallRule[] };
}

export interface StorageConfig {
  storage: string;
  type: string;
  content: string;
  shared: 0 | 1;
  path?: string;
  vgname?: string;
  thinpool?: string;
  nodes?: string;
  disable?: 0 | 1;
  /** Simulated capacity in bytes. */
  total: number;
}

export interface Volume {
  volid: string;
  content: string;
  format: string;
  size: number;
  ctime: number;
  vmid?: number;
}

export interface User {
  userid: string;
  password?: string;
  enable?: 0 | 1;
  tokens?: { id: string; secret: string; privsep?: 0 | 1; expire?: number }[];
}

export interface Group {
  groupid: string;
  comment?: string;
  members: string[];
}

export interface SimState {
  clusterName: string;
  options: Config;
  users: User[];
  groups: Group[];
  nodes: NodeState[];
  storages: StorageConfig[];
  /** Volumes per storage; a non-shared storage keeps one list per node, keyed `<node>/<storage>`. */
  volumes: Record<string, Volume[]>;
  guests: Guest[];
  firewall: Firewall & { options: Config };
}
