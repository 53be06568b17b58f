// The node lifecycle as data: which event moves which status where. Pure, so the
// controller, the timeout sweep and the tests all read the same table.
import { PxmError, ExitCode } from '../util/errors.js';

export const NODE_STATUSES = [
  'NEW',
  'COMMISSIONING',
  'READY',
  'DEPLOYING',
  'DEPLOYED',
  'RELEASING',
  'FAILED_COMMISSIONING',
  'FAILED_DEPLOYMENT',
  'BROKEN',
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** Operator actions (admin API, `pxm nodes <action>`). */
export const NODE_ACTIONS = ['commission', 'deploy', 'release', 'abort', 'mark-broken'] as const;
export type NodeAction = (typeof NODE_ACTIONS)[number];

/** Events the node or the controller itself produce. */
export type SystemEvent =
  | 'commissioning-ok'
  | 'commissioning-failed'
  | 'deploy-failed'
  /** The installed OS asked for its user-data: it booted from disk. */
  | 'deployed'
  | 'release-done'
  | 'timeout';

export type LifecycleEvent = NodeAction | SystemEvent;

const TABLE: Record<NodeStatus, Partial<Record<LifecycleEvent, NodeStatus>>> = {
  NEW: { commission: 'COMMISSIONING', 'mark-broken': 'BROKEN' },
  COMMISSIONING: {
    'commissioning-ok': 'READY',
    'commissioning-failed': 'FAILED_COMMISSIONING',
    timeout: 'FAILED_COMMISSIONING',
    abort: 'NEW',
    'mark-broken': 'BROKEN',
  },
  READY: { commission: 'COMMISSIONING', deploy: 'DEPLOYING', 'mark-broken': 'BROKEN' },
  DEPLOYING: {
    deployed: 'DEPLOYED',
    'deploy-failed': 'FAILED_DEPLOYMENT',
    timeout: 'FAILED_DEPLOYMENT',
    abort: 'READY',
    'mark-broken': 'BROKEN',
  },
  DEPLOYED: { release: 'RELEASING', 'mark-broken': 'BROKEN' },
  // No failed-releasing status in pxm: a release that hangs needs an operator (BROKEN).
  RELEASING: { 'release-done': 'READY', timeout: 'BROKEN', 'mark-broken': 'BROKEN' },
  FAILED_COMMISSIONING: { commission: 'COMMISSIONING', 'mark-broken': 'BROKEN' },
  FAILED_DEPLOYMENT: {
    deploy: 'DEPLOYING',
    release: 'RELEASING',
    commission: 'COMMISSIONING',
    'mark-broken': 'BROKEN',
  },
  BROKEN: { commission: 'COMMISSIONING' },
};

/** Statuses a node should leave on its own; the sweep fails them after a timeout. */
export const IN_PROGRESS: readonly NodeStatus[] = ['COMMISSIONING', 'DEPLOYING', 'RELEASING'];

export function isNodeStatus(s: string): s is NodeStatus {
  return (NODE_STATUSES as readonly string[]).includes(s);
}

export function isNodeAction(s: string): s is NodeAction {
  return (NODE_ACTIONS as readonly string[]).includes(s);
}

/** The next status, or undefined when the event is not allowed in `from`. */
export function nextStatus(from: NodeStatus, event: LifecycleEvent): NodeStatus | undefined {
  return TABLE[from][event];
}

/** Events allowed in a status (for error messages and the API's `actions` field). */
export function allowedEvents(from: NodeStatus): LifecycleEvent[] {
  return Object.keys(TABLE[from]) as LifecycleEvent[];
}

export function allowedActions(from: NodeStatus): NodeAction[] {
  return allowedEvents(from).filter(isNodeAction);
}

/** Thrown for an action the node's status does not allow (HTTP 409, exit 1). */
export class TransitionError extends PxmError {
  constructor(
    readonly nodeId: string,
    readonly from: NodeStatus,
    readonly event: LifecycleEvent,
  ) {
    const ok = allowedActions(from);
    super(
      `node ${nodeId}: cannot ${event} a node that is ${from}` +
        (ok.length ? ` (allowed: ${ok.join(', ')})` : ''),
      { exitCode: ExitCode.ERROR },
    );
    this.name = 'TransitionError';
  }
}

export function transition(nodeId: string, from: NodeStatus, event: LifecycleEvent): NodeStatus {
  const to = nextStatus(from, event);
  if (!to) throw new TransitionError(nodeId, from, event);
  return to;
}

export interface LifecycleTimeouts {
  /** Seconds a node may stay in each in-progress status. */
  COMMISSIONING: number;
  DEPLOYING: number;
  RELEASING: number;
}

export const DEFAULT_TIMEOUTS: LifecycleTimeouts = {
  COMMISSIONING: 30 * 60,
  DEPLOYING: 60 * 60,
  RELEASING: 30 * 60,
};
