/** The results table: every figure with its goal, met or not. */
import { round } from './context';
import { API_EVENTS_PER_SECOND, GOALS } from './settings';
import { HEAP_CAP_128MB } from './pipeline';
import { FRESHNESS_INTERVAL_SECONDS } from './freshness';
import type { Results } from '../bench';
import type { InvokeMode } from './worker';

export interface Row {
  figure: string;
  value: string;
  goal: string;
  met?: boolean;
}

export function rows(results: Results): Row[] {
  const out: Row[] = [];
  const yes = (ok: boolean | undefined) => ok;
  const tp = results.throughput;
  const one = tp.find((t) => t.regions.length === 1);
  for (const t of tp) {
    const linear = one ? t.eventsPerSecond / (one.eventsPerSecond * t.regions.length) : undefined;
    out.push({
      figure: `Throughput, ${t.regions.length} region${t.regions.length > 1 ? 's' : ''} (${t.backlogEvents.toLocaleString('en-US')} events)`,
      value:
        `${t.eventsPerSecond} events/s = ${t.ratioToLimit} of ${API_EVENTS_PER_SECOND * t.regions.length}` +
        (t.regions.length > 1 && linear !== undefined ? `; ${round(linear, 3)} × linear` : '') +
        `; ${t.throttles} throttles, all retried; ${t.delivered === t.backlogEvents && t.duplicates === 0 && !t.stoppedEarly ? 'every event once' : 'NOT every event once'}`,
      // Issue 6: "with no run failing on throttling": a throttle the forwarder retries is allowed.
      goal: t.regions.length === 1 ? `≥ ${GOALS.throughputRatio}, no run failing on throttling` : `linear (≥ ${GOALS.linearity}), no run failing`,
      met: yes(
        t.delivered === t.backlogEvents &&
          t.duplicates === 0 &&
          !t.stoppedEarly &&
          (t.regions.length === 1 ? t.ratioToLimit >= GOALS.throughputRatio : (linear ?? 0) >= GOALS.linearity),
      ),
    });
  }
  for (const t of tp) {
    out.push({
      figure: `CPU share of wall at the API limit, ${t.regions.length} region${t.regions.length > 1 ? 's' : ''}`,
      value: `${round(t.cpuShareOfWall * 100, 2)}% (${round(t.cpuMs / 1000, 1)} s CPU, ${round(t.cpuSystemMs / 1000, 1)} s of it system, in ${round(t.wallMs / 1000, 1)} s)`,
      goal: `≤ ${GOALS.cpuShareAtLimit * 100}%`,
      met: t.cpuShareOfWall <= GOALS.cpuShareAtLimit,
    });
  }
  for (const label of ['json', 'json+gzip']) {
    const by = (mode: InvokeMode) => results.cpu.find((c) => c.label === label && c.mode === mode);
    const [full, noRead, deliverOnly] = [by('handler'), by('memory-read'), by('memory-read-ddb')];
    if (!full) continue;
    out.push({
      figure: `Pipeline CPU, ${label}, whole handler (API wait removed)`,
      value: `${full.cpuMsPer10kEvents} ms per 10,000 events = ${full.eventsPerCpuSecond.toLocaleString('en-US')} events/s on one core`,
      goal: `≥ ${GOALS.cpuEventsPerSecond.toLocaleString('en-US')} events/s`,
      met: full.eventsPerCpuSecond >= GOALS.cpuEventsPerSecond,
    });
    if (noRead && deliverOnly) {
      const read = full.cpuMsPer10kEvents - noRead.cpuMsPer10kEvents;
      const checkpoint = noRead.cpuMsPer10kEvents - deliverOnly.cpuMsPer10kEvents;
      out.push({
        figure: `… of which read / checkpoint / deliver, ${label}`,
        value:
          `${round(read)} / ${round(checkpoint)} / ${round(deliverOnly.cpuMsPer10kEvents)} ms per 10,000 ` +
          `(LookupEvents via SDK / DynamoDB via SDK / records, batches${full.gzip ? ', gzip' : ''}, POST): deliver alone ${deliverOnly.eventsPerCpuSecond.toLocaleString('en-US')} events/s`,
        goal: `deliver ≥ ${GOALS.cpuEventsPerSecond.toLocaleString('en-US')} events/s`,
        met: deliverOnly.eventsPerCpuSecond >= GOALS.cpuEventsPerSecond,
      });
    }
  }
  for (const r of [results.rss, results.rssCapped]) {
    if (!r) continue;
    const capped = r === results.rssCapped;
    out.push({
      figure: `Peak RSS, ${r.forwarded.toLocaleString('en-US')} events (API wait removed)${capped ? `, heap as Lambda sets it for a 128 MB function (${HEAP_CAP_128MB.join(' ')})` : ', node defaults'}`,
      value: `${r.maxRssMB} MB (heap ≤ ${r.sampledPeakMB.heapTotal} MB, buffers ≤ ${r.sampledPeakMB.external} MB; ${r.cpuMsPer10kEvents} ms CPU per 10,000 events)`,
      goal: `≤ ${GOALS.rssMB} MB`,
      met: r.maxRssMB <= GOALS.rssMB,
    });
  }
  for (const b of results.coldStart?.bundles ?? []) {
    const lean = results.coldStart?.withoutSdk.find((x) => x.name === b.name);
    out.push({
      figure: `Bundle, ${b.name} (minified, SDK bundled)`,
      value:
        `${round(b.bytes / 1024)} KiB (+ ${round(b.mapBytes / 1024)} KiB map; ~${round(b.zippedBytes / 1024)} KiB zipped)` +
        (lean ? `; ${round(lean.bytes / 1024)} KiB if the SDK were left to the runtime` : ''),
      goal: `≤ ${GOALS.bundleKiB} KiB`,
      met: b.bytes / 1024 <= GOALS.bundleKiB,
    });
    out.push({
      figure: `Module init, ${b.name}`,
      value:
        `${round(b.init.medianMs)} ms median (${round(b.init.minMs)}–${round(b.init.maxMs)}; CPU ${round(b.init.medianCpuMs)} ms); ${round(b.initWithoutSourceMaps.medianMs)} ms without source maps` +
        (lean ? `; ${round(lean.init.medianMs)} ms with the SDK from node_modules` : ''),
      goal: `≤ ${GOALS.initMs} ms`,
      met: b.init.medianMs <= GOALS.initMs,
    });
  }
  for (const f of results.freshness ?? []) {
    const slow = f.eventsPerSecond > 50;
    const perInterval = FRESHNESS_INTERVAL_SECONDS;
    const once = f.undelivered === 0 && f.duplicates === 0;
    out.push({
      figure: `Freshness, ${f.eventsPerSecond} events/s, long-tail release (${f.intervals} intervals, time ÷${f.compress}): visible → DNIF 2xx`,
      value:
        `p50 ${f.visibleToDnif.p50} / p95 ${f.visibleToDnif.p95} / p99 ${f.visibleToDnif.p99} / max ${f.visibleToDnif.max} s; ` +
        `EventTime → DNIF p50 ${f.eventTimeToDnif.p50} / p95 ${f.eventTimeToDnif.p95} / p99 ${f.eventTimeToDnif.p99} / max ${f.eventTimeToDnif.max} s; ` +
        `${f.undelivered} undelivered at the end, ${f.duplicates} duplicates; re-read ${f.rereadSeconds.min}–${f.rereadSeconds.max} s`,
      goal: slow ? `p95 ≤ ${2 * perInterval} s (2 intervals)` : `p99 ≤ ${perInterval + 60} s (interval + 60 s), 0 lost, 0 duplicates`,
      met: slow ? f.visibleToDnif.p95 <= 2 * perInterval && once : f.visibleToDnif.p99 <= perInterval + 60 && once,
    });
    out.push({
      figure: `… cost at ${f.eventsPerSecond} events/s`,
      value:
        `${f.lookupsPerEvent} LookupEvents calls per event; DynamoDB ${f.ddbReadUnitsPer1000Events} RRU / ${f.ddbWriteUnitsPer1000Events} WRU per 1,000 events (compressed: see docs)` +
        (f.throughputWhileBehind ? `; while behind ${f.throughputWhileBehind.ratioToLimit} of the limit, ${f.throughputWhileBehind.eventsPerCall} events/call` : ''),
      goal: slow ? `≥ ${GOALS.throughputRatio} of the limit while behind` : '',
      met: slow ? (f.throughputWhileBehind?.ratioToLimit ?? 0) >= GOALS.throughputRatio : undefined,
    });
  }
  const c = results.cutShort;
  if (c) {
    out.push({
      figure: `Cut short: ${c.events.toLocaleString('en-US')} events, runs of ${c.timeoutMs / 1000} s`,
      value: `${c.lookups} LookupEvents calls (${c.pagesNeeded} pages needed) = ${c.callsPer1000Events} per 1,000 events in ${c.runs} runs; first run ${c.firstRunForwarded} events; ${c.delivered} delivered, ${c.duplicates} duplicates`,
      goal: `≤ ${c.pagesNeeded} + 2 a run`,
      met: c.lookups <= c.pagesNeeded + 2 * c.runs && c.delivered === c.events && c.duplicates === 0,
    });
  }
  const d = results.dynamodb;
  if (d) {
    out.push({
      figure: 'DynamoDB read units per 1,000 events',
      value: `${d.readUnitsPer1000Events} RRU (${d.readUnits} over ${d.events.toLocaleString('en-US')} events; rules give ${d.rules.readUnits})`,
      goal: 'matches pricing rules',
      met: d.consistent,
    });
    out.push({
      figure: 'DynamoDB write units per 1,000 events',
      value: `${d.writeUnitsPer1000Events} WRU (${d.writeUnits}; rules give ${d.rules.writeUnits}; largest item ${d.rules.largestItemBytes} B)`,
      goal: 'matches pricing rules',
      met: d.consistent,
    });
  }
  return out;
}

export function markdownTable(table: Row[]): string {
  const lines = ['| Figure | Value | Goal | Met |', '| --- | --- | --- | --- |'];
  for (const r of table) lines.push(`| ${r.figure} | ${r.value} | ${r.goal} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}
