import { describe, expect, test } from 'vitest';
import { defaultScrapeConfig, newTarget, scrapeConfigWith, targetFromURL } from '../../src/scrape/target.js';
import { formatDuration, parseDuration } from '../../src/scrape/duration.js';
import { TargetConfigError } from '../../src/scrape/errors.js';

describe('target labels and URL (PopulateLabels without relabeling)', () => {
  const cfg = scrapeConfigWith('mattermost', { scrapeInterval: 15_000, params: { module: ['a', 'b'], 'x y': ['1&2'] } });
  test.each<{ name: string; disc: Record<string, string>; labels: Record<string, string>; url: string }>([
    {
      name: 'an address without port gets :80 for http, and instance is the defaulted address',
      disc: { __address__: 'localhost' },
      labels: { instance: 'localhost:80', job: 'mattermost' },
      url: 'http://localhost:80/metrics?module=a&module=b&x+y=1%262',
    },
    {
      name: 'an https scheme label defaults the port to 443',
      disc: { __address__: 'mm.example.com', __scheme__: 'https' },
      labels: { instance: 'mm.example.com:443', job: 'mattermost' },
      url: 'https://mm.example.com:443/metrics?module=a&module=b&x+y=1%262',
    },
    {
      name: 'a bracketed IPv6 address gets a port too',
      disc: { __address__: '[::1]' },
      labels: { instance: '[::1]:80', job: 'mattermost' },
      url: 'http://[::1]:80/metrics?module=a&module=b&x+y=1%262',
    },
    {
      name: 'explicit job, instance and extra labels are kept; config params win over discovered __param_ (set before relabeling), new ones are added',
      disc: { __address__: '10.0.0.1:8067', job: 'app', instance: 'node-1', region: 'eu', __param_module: 'z', __param_extra: 'v', __meta_x: 'gone' },
      labels: { instance: 'node-1', job: 'app', region: 'eu' },
      url: 'http://10.0.0.1:8067/metrics?extra=v&module=a&module=b&x+y=1%262',
    },
    {
      name: 'an empty job label counts as absent and is defaulted',
      disc: { __address__: 'h:1', job: '' },
      labels: { instance: 'h:1', job: 'mattermost' },
      url: 'http://h:1/metrics?module=a&module=b&x+y=1%262',
    },
    {
      name: 'a metrics path label without a leading slash still forms a valid URL',
      disc: { __address__: 'h:1', __metrics_path__: 'plugins/com.mattermost.calls/metrics' },
      labels: { instance: 'h:1', job: 'mattermost' },
      url: 'http://h:1/plugins/com.mattermost.calls/metrics?module=a&module=b&x+y=1%262',
    },
  ])('$name', ({ disc, labels, url }) => {
    const t = newTarget(cfg, disc);
    expect(t.targetLabels.toObject()).toEqual(labels);
    expect(t.url).toBe(url);
    expect(t.interval).toBe(15_000);
    expect(t.timeout).toBe(10_000);
    expect(t.labels.get('__meta_x')).toBe('');
  });

  test.each<{ name: string; disc: Record<string, string>; msg: string }>([
    { name: 'a missing address is rejected', disc: {}, msg: 'no address' },
    { name: 'an address with a path is rejected', disc: { __address__: 'h:1/x' }, msg: 'is not a valid hostname' },
    { name: 'an unknown scheme without port is rejected', disc: { __address__: 'h', __scheme__: 'ftp' }, msg: 'invalid scheme' },
    { name: 'a timeout above the interval is rejected', disc: { __address__: 'h:1', __scrape_timeout__: '1m' }, msg: 'greater than scrape interval' },
    { name: 'a zero interval is rejected', disc: { __address__: 'h:1', __scrape_interval__: '0' }, msg: 'cannot be 0' },
    { name: 'an unparsable interval is rejected', disc: { __address__: 'h:1', __scrape_interval__: '1.5s' }, msg: 'error parsing scrape interval' },
  ])('$name', ({ disc, msg }) => {
    expect(() => newTarget(cfg, disc)).toThrow(TargetConfigError);
    expect(() => newTarget(cfg, disc)).toThrow(msg);
  });

  test('a target from a full URL takes scheme, address, path and params from it', () => {
    const t = targetFromURL(defaultScrapeConfig('mm'), 'https://mm.local:8067/plugins/x/metrics?b=2&a=1&a=3');
    expect(t.url).toBe('https://mm.local:8067/plugins/x/metrics?a=1&a=3&b=2');
    expect(t.targetLabels.toObject()).toEqual({ instance: 'mm.local:8067', job: 'mm' });
  });

  test('the defaults are Prometheus 2.42 defaults and the timeout is capped to a shorter interval', () => {
    const d = defaultScrapeConfig();
    expect([d.scrapeInterval, d.scrapeTimeout, d.metricsPath, d.scheme, d.honorLabels, d.honorTimestamps, d.sampleLimit, d.bodySizeLimit]).toEqual([
      60_000, 10_000, '/metrics', 'http', false, true, 0, 0,
    ]);
    expect(scrapeConfigWith('j', { scrapeInterval: 1000 }).scrapeTimeout).toBe(1000);
    expect(() => scrapeConfigWith('j', { scrapeInterval: 1000, scrapeTimeout: 2000 })).toThrow(TargetConfigError);
  });

  test('the first-scrape offset is stable per target and within one interval', () => {
    const a = newTarget(cfg, { __address__: 'a:1' });
    const b = newTarget(cfg, { __address__: 'b:1' });
    for (const now of [0, 1234, 1_700_000_000_123]) {
      for (const t of [a, b]) {
        const o = t.offset(now, 42);
        expect(o).toBeGreaterThanOrEqual(0);
        expect(o).toBeLessThanOrEqual(15_000);
        // The phase relative to wall-clock multiples of the interval is the same whatever `now` is.
        expect((now + o) % 15_000).toBe((0 + t.offset(0, 42)) % 15_000);
      }
    }
    expect(a.offset(0, 42)).not.toBe(b.offset(0, 42));
  });
});

describe('Prometheus durations', () => {
  test.each([
    ['0', 0],
    ['1s', 1000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['1h1m1s1ms', 3_661_001],
  ])('%s is %d ms', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });
  test.each(['', '1', '1.5s', '1s1m', 's', '-1s', '1S', ' 1s'])('%j is rejected', (s) => {
    expect(() => parseDuration(s)).toThrow('not a valid duration');
  });
  test.each([
    [60_000, '1m'],
    [10_000, '10s'],
    [90_000, '1m30s'],
    [500, '500ms'],
    [0, '0s'],
    [604_800_000, '1w'],
    [86_400_000 * 8, '8d'],
  ])('%d ms prints as %s', (ms, s) => {
    expect(formatDuration(ms)).toBe(s);
  });
});
