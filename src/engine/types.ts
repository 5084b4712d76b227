/** One ansible-runner job event, as written to artifacts/<ident>/job_events/<counter>-<uuid>.json. */
export interface RunnerEvent {
  uuid?: string;
  counter?: number;
  event: string;
  stdout?: string;
  start_line?: number;
  end_line?: number;
  runner_ident?: string;
  pid?: number;
  created?: string;
  parent_uuid?: string;
  event_data?: {
    playbook?: string;
    play?: string;
    task?: string;
    task_action?: string;
    host?: string;
    res?: unknown;
    duration?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Final states, as ansible-runner names them. */
export type RunStatus = 'successful' | 'failed' | 'canceled' | 'timeout';

export interface RunSpec {
  /** Absolute path of the playbook, already resolved and checked. */
  playbook: string;
  /** Absolute path of the inventory file, already resolved and checked. */
  inventory: string;
  limit?: string | null;
  tags?: string | null;
  /** Request values. They reach Ansible as data and are never templated. */
  extravars?: Record<string, unknown> | null;
  /** Overrides the engine's default timeout. */
  timeoutMs?: number;
  /** A label for logs (the route or operation). */
  label?: string;
  /**
   * The fact whose values make the answer's `result`, when it is not the route's: a VM route run
   * on a container publishes the container action's (`lxc_start`).
   */
  resultKey?: string;
}

export interface RunResult {
  id: string;
  rc: number;
  status: RunStatus;
  /** Every job event in counter order, including the verbose ones (ERROR! lines of a parse failure). */
  events: RunnerEvent[];
  /** Why a failed run ended without Ansible's own exit status (its playbook process killed by a signal, ...). */
  reason?: string;
  queuedMs: number;
  durationMs: number;
}
