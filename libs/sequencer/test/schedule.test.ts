import t from 'tap';
import { parseSchedule, nextRunAfter, firstRun, planRuns, describeSchedule } from '@genome/sequencer';

const at = (s: string): Date => new Date(s);
const isos = (ds: Date[]): string[] => ds.map((d) => d.toISOString());

t.test('parses durations and cron expressions, rejects the rest with a fix', async (t) => {
  t.same(parseSchedule('6h'), { kind: 'interval', text: '6h', periodMs: 21_600_000 });
  t.same(parseSchedule('0 3 * * *'), { kind: 'cron', text: '0 3 * * *' });
  t.same(parseSchedule('*/10 * * * * *'), { kind: 'cron', text: '*/10 * * * * *' });
  t.same(parseSchedule('@daily'), { kind: 'cron', text: '@daily' });
  t.same(parseSchedule('0 3 * * *', { timezone: 'Europe/Paris' }), { kind: 'cron', text: '0 3 * * *', timezone: 'Europe/Paris' });
  t.throws(() => parseSchedule('6'), { code: 'INVALID_ARGUMENT', message: /no unit.*"6s"/ });
  t.throws(() => parseSchedule('500ms'), { code: 'INVALID_ARGUMENT', message: /between 1s and 365d/ });
  t.throws(() => parseSchedule('61 * * * *'), { code: 'INVALID_ARGUMENT', message: /neither a duration.*cron/ });
  t.throws(() => parseSchedule('every hour'), { code: 'INVALID_ARGUMENT' });
  t.throws(() => parseSchedule(''), { code: 'INVALID_ARGUMENT' });
  t.equal(describeSchedule(parseSchedule('90m')), 'every 1h30m');
  t.equal(describeSchedule(parseSchedule('0 3 * * *')), 'cron 0 3 * * * (UTC)');
});

t.test('the first run comes one period after creation', async (t) => {
  const created = at('2026-01-01T10:17:23.000Z');
  t.equal(firstRun(parseSchedule('6h'), created)?.toISOString(), '2026-01-01T16:17:23.000Z');
  t.equal(firstRun(parseSchedule('30s'), created)?.toISOString(), '2026-01-01T10:17:53.000Z');
  // Cron: the first match after creation (never the creation instant itself).
  t.equal(firstRun(parseSchedule('0 3 * * *'), created)?.toISOString(), '2026-01-02T03:00:00.000Z');
  t.equal(firstRun(parseSchedule('*/15 * * * *'), created)?.toISOString(), '2026-01-01T10:30:00.000Z');
  t.equal(firstRun(parseSchedule('0 10 * * *'), at('2026-01-01T10:00:00.000Z'))?.toISOString(), '2026-01-02T10:00:00.000Z');
});

t.test('next runs stay on the grid anchored at creation, in the cron timezone', async (t) => {
  const created = at('2026-01-01T00:00:10.000Z');
  const s = parseSchedule('6h');
  t.equal(nextRunAfter(s, at('2026-01-01T06:00:10.000Z'), created)?.toISOString(), '2026-01-01T12:00:10.000Z');
  t.equal(nextRunAfter(s, at('2026-01-03T01:00:00.000Z'), created)?.toISOString(), '2026-01-03T06:00:10.000Z');
  t.equal(nextRunAfter(s, at('2025-12-01T00:00:00.000Z'), created)?.toISOString(), '2026-01-01T06:00:10.000Z');
  const paris = parseSchedule('0 3 * * *', { timezone: 'Europe/Paris' });
  t.equal(nextRunAfter(paris, at('2026-07-01T00:00:00.000Z'), created)?.toISOString(), '2026-07-01T01:00:00.000Z', 'CEST is UTC+2');
  t.equal(nextRunAfter(paris, at('2026-01-10T00:00:00.000Z'), created)?.toISOString(), '2026-01-10T02:00:00.000Z', 'CET is UTC+1');
});

t.test('a tick on time starts the one run due', async (t) => {
  const createdAt = at('2026-01-01T00:00:00.000Z');
  const s = parseSchedule('1h');
  t.same(planRuns(s, { createdAt }, at('2026-01-01T00:59:59.000Z')), {
    start: [],
    skipped: 0,
    lastScheduledAt: undefined,
    next: at('2026-01-01T01:00:00.000Z'),
  }, 'nothing before the first period ends');
  const p = planRuns(s, { createdAt }, at('2026-01-01T01:00:00.500Z'));
  t.same(isos(p.start), ['2026-01-01T01:00:00.000Z']);
  t.equal(p.skipped, 0);
  t.equal(p.lastScheduledAt?.toISOString(), '2026-01-01T01:00:00.000Z');
  t.equal(p.next?.toISOString(), '2026-01-01T02:00:00.000Z');
  const again = planRuns(s, { createdAt, lastScheduledAt: p.lastScheduledAt }, at('2026-01-01T01:30:00.000Z'));
  t.same(again.start, [], 'a handled time is not started twice');
});

t.test('after downtime at most one missed run starts (configurable)', async (t) => {
  const createdAt = at('2026-01-01T00:00:00.000Z');
  const s = parseSchedule('6h');
  const cursor = { createdAt, lastScheduledAt: at('2026-01-01T06:00:00.000Z') };
  const now = at('2026-01-02T02:00:00.000Z'); // 12:00, 18:00 and 00:00 passed while down
  const one = planRuns(s, cursor, now);
  t.same(isos(one.start), ['2026-01-02T00:00:00.000Z'], 'only the latest');
  t.equal(one.skipped, 2);
  t.equal(one.lastScheduledAt?.toISOString(), '2026-01-02T00:00:00.000Z');
  t.equal(one.next?.toISOString(), '2026-01-02T06:00:00.000Z');
  const two = planRuns(s, cursor, now, { maxMissedRuns: 2, overlap: 'allow' });
  t.same(isos(two.start), ['2026-01-01T18:00:00.000Z', '2026-01-02T00:00:00.000Z']);
  t.equal(two.skipped, 1);
  const forbid = planRuns(s, cursor, now, { maxMissedRuns: 2 });
  t.same(isos(forbid.start), ['2026-01-02T00:00:00.000Z'], 'without overlap only one run can start');
  t.throws(() => planRuns(s, cursor, now, { maxMissedRuns: 0 }), { code: 'INVALID_ARGUMENT' });
});

t.test('cron downtime: a year of a per-minute expression plans in bounded work', async (t) => {
  const createdAt = at('2025-01-01T00:00:00.000Z');
  const s = parseSchedule('* * * * *');
  const t0 = Date.now();
  const p = planRuns(s, { createdAt, lastScheduledAt: at('2025-01-01T00:00:00.000Z') }, at('2026-01-01T00:00:30.000Z'), { maxMissedRuns: 3, overlap: 'allow' });
  t.ok(Date.now() - t0 < 2000, 'fast');
  t.same(isos(p.start), ['2025-12-31T23:58:00.000Z', '2025-12-31T23:59:00.000Z', '2026-01-01T00:00:00.000Z']);
  t.equal(p.skipped, 97, 'older ones are counted as skipped, up to 100');
  t.equal(p.next?.toISOString(), '2026-01-01T00:01:00.000Z');
  const daily = planRuns(parseSchedule('0 3 * * *'), { createdAt }, at('2025-01-05T12:00:00.000Z'));
  t.same(isos(daily.start), ['2025-01-05T03:00:00.000Z']);
  t.equal(daily.skipped, 4, 'Jan 1-4 at 03:00');
  t.equal(daily.next?.toISOString(), '2025-01-06T03:00:00.000Z');
});

t.test('no overlapping runs by default', async (t) => {
  const createdAt = at('2026-01-01T00:00:00.000Z');
  const s = parseSchedule('1h');
  const busy = planRuns(s, { createdAt }, at('2026-01-01T01:00:01.000Z'), { running: true });
  t.same(busy.start, [], 'the due run is skipped while one is active');
  t.equal(busy.skipped, 1);
  t.equal(busy.lastScheduledAt?.toISOString(), '2026-01-01T01:00:00.000Z', 'and not retried at the next tick');
  const allowed = planRuns(s, { createdAt }, at('2026-01-01T01:00:01.000Z'), { running: true, overlap: 'allow' });
  t.same(isos(allowed.start), ['2026-01-01T01:00:00.000Z']);
});
