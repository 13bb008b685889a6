import { describe, expect, it } from 'vitest';
import { planPlacement, type PlanServer } from '../../src/control/placements/placement-plan.ts';
import type { Placement } from '../../src/domain/placement.ts';

const placement = (fields: Partial<Placement>): Placement => ({ model: 'mixtral', pulledOn: 2, servers: null, warmOn: 0, keepAlive: null, activeHours: null, managedBy: 'api', createdAt: '', updatedAt: '', ...fields });
const server = (id: string, fields: Partial<PlanServer> = {}): PlanServer => ({ id, name: id, usable: true, canPull: true, canLoad: true, holds: false, loaded: false, freeBytes: null, heldBytes: 0, ...fields });
const plan = (p: Placement, servers: PlanServer[], extra: { modelBytes?: number; now?: Date; inFlight?: string[]; failures?: Array<[string, string]> } = {}) =>
  planPlacement({ placement: p, servers, modelBytes: extra.modelBytes ?? null, inFlight: new Set(extra.inFlight ?? []), failures: new Map(extra.failures ?? []), now: extra.now ?? new Date('2026-12-02T12:00:00Z') });

describe('planPlacement', () => {
  it('pulls onto the servers with the most free room, else those holding the fewest bytes', () => {
    expect(plan(placement({ pulledOn: 2 }), [server('a', { freeBytes: 10e9 }), server('b', { freeBytes: 900e9 }), server('c', { freeBytes: 50e9 })]).pullOn).toEqual(['b', 'c']);
    expect(plan(placement({ pulledOn: 1 }), [server('a', { heldBytes: 80e9 }), server('b', { heldBytes: 3e9 })]).pullOn).toEqual(['b']);
  });

  it('counts pulls under way, never starting a second one, and says it is progressing', () => {
    const result = plan(placement({ pulledOn: 2 }), [server('a', { holds: true }), server('b'), server('c')], { inFlight: ['b'] });
    expect(result).toMatchObject({ pullOn: [], status: 'progressing' });
  });

  it('fails with the reason when there is no room, too few servers, or a pull failed', () => {
    expect(plan(placement({ pulledOn: 1 }), [server('a', { freeBytes: 1e9 })], { modelBytes: 26e9 }).reason).toBe('no room: a has 1.0 GB free, it needs 26.0 GB');
    expect(plan(placement({ pulledOn: 3 }), [server('a'), server('b', { usable: false })]).reason).toBe('too few servers: need 3, have 1');
    expect(plan(placement({ pulledOn: 1 }), [server('a')], { failures: [['a', 'disk full']] })).toMatchObject({ status: 'failed', reason: 'pull failed on a: disk full' });
  });

  it('warms copies that are held, and only within active hours', () => {
    const servers = [server('a', { holds: true }), server('b', { holds: true, loaded: true }), server('c', { holds: true })];
    expect(plan(placement({ pulledOn: 3, warmOn: 2 }), servers).loadOn).toEqual(['a']);
    const night = { now: new Date('2026-12-02T23:00:00Z') };
    const windowed = placement({ pulledOn: 3, warmOn: 3, activeHours: { from: '08:00', to: '18:00' } });
    expect(plan(windowed, servers, night)).toMatchObject({ loadOn: [], status: 'satisfied' });
    expect(plan({ ...windowed, activeHours: { from: '22:00', to: '06:00' } }, servers, night).loadOn).toEqual(['a', 'c']);
  });

  it('is satisfied when enough copies are held and warm', () => {
    expect(plan(placement({ pulledOn: 2, warmOn: 1 }), [server('a', { holds: true, loaded: true }), server('b', { holds: true })])).toMatchObject({ status: 'satisfied', reason: null, pullOn: [], loadOn: [] });
  });
});
