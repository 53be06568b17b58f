import { describe, expect, it } from 'vitest';
import {
  allowedActions,
  IN_PROGRESS,
  NODE_ACTIONS,
  NODE_STATUSES,
  nextStatus,
  transition,
  TransitionError,
} from '../../src/server/lifecycle.js';

describe('node lifecycle table', () => {
  it('walks the happy path NEW -> COMMISSIONING -> READY -> DEPLOYING -> DEPLOYED -> RELEASING -> READY', () => {
    let s = transition('n', 'NEW', 'commission');
    expect(s).toBe('COMMISSIONING');
    s = transition('n', s, 'commissioning-ok');
    expect(s).toBe('READY');
    s = transition('n', s, 'deploy');
    expect(s).toBe('DEPLOYING');
    s = transition('n', s, 'deployed');
    expect(s).toBe('DEPLOYED');
    s = transition('n', s, 'release');
    expect(s).toBe('RELEASING');
    expect(transition('n', s, 'release-done')).toBe('READY');
  });

  it('moves every in-progress status to a failed status on timeout, and nothing else', () => {
    expect(nextStatus('COMMISSIONING', 'timeout')).toBe('FAILED_COMMISSIONING');
    expect(nextStatus('DEPLOYING', 'timeout')).toBe('FAILED_DEPLOYMENT');
    expect(nextStatus('RELEASING', 'timeout')).toBe('BROKEN');
    for (const s of NODE_STATUSES)
      if (!IN_PROGRESS.includes(s)) expect(nextStatus(s, 'timeout')).toBeUndefined();
  });

  it('refuses deploying a node that was never commissioned, naming what is allowed', () => {
    expect(() => transition('abc123', 'NEW', 'deploy')).toThrow(TransitionError);
    expect(() => transition('abc123', 'NEW', 'deploy')).toThrow(
      'node abc123: cannot deploy a node that is NEW (allowed: commission, mark-broken)',
    );
  });

  it('ignores a completion signal that arrives twice', () => {
    expect(nextStatus('READY', 'commissioning-ok')).toBeUndefined();
    expect(nextStatus('DEPLOYED', 'deployed')).toBeUndefined();
  });

  it('lets a failed or broken node be commissioned again, and abort go back one step', () => {
    expect(nextStatus('FAILED_COMMISSIONING', 'commission')).toBe('COMMISSIONING');
    expect(nextStatus('FAILED_DEPLOYMENT', 'deploy')).toBe('DEPLOYING');
    expect(nextStatus('BROKEN', 'commission')).toBe('COMMISSIONING');
    expect(nextStatus('COMMISSIONING', 'abort')).toBe('NEW');
    expect(nextStatus('DEPLOYING', 'abort')).toBe('READY');
  });

  it('every status but BROKEN can be marked broken; actions listed are real actions', () => {
    for (const s of NODE_STATUSES) {
      expect(nextStatus(s, 'mark-broken')).toBe(s === 'BROKEN' ? undefined : 'BROKEN');
      for (const a of allowedActions(s)) expect(NODE_ACTIONS).toContain(a);
    }
  });
});
