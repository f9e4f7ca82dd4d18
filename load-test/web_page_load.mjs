// The web client under load, measured by the browser itself: opens the page in headless
// chromium (playwright-core from tools/browser), and for --seconds records
//   - long tasks (PerformanceObserver 'longtask': main-thread tasks over 50 ms of wall time),
//   - the main thread's tasks from a trace, with their CPU time beside their wall time,
//   - the live JavaScript heap every 5 s, after a forced GC (--js-flags=--expose-gc),
//   - the DOM's element count each second,
//   - the stream messages the page received, the WebSocket messages (arrays) that carried them
//     and the connections it lost,
// then prints them as JSON. load-test/web-page-bench.sh runs it beside an order flow.
//
//   node load-test/web_page_load.mjs --url http://127.0.0.1:8080/ --seconds 70 --json out.json [--trace]

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tools/browser/package.json'));
const { chromium } = require('playwright-core');

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    seconds: { type: 'string', default: '70' },
    json: { type: 'string' },
    chromium: { type: 'string', default: process.env.MATCHD_CHROMIUM || '/usr/bin/chromium' },
    trace: { type: 'boolean', default: false },
    'trace-from': { type: 'string', default: '10' },
    'trace-out': { type: 'string' }, // where the raw trace goes, for chrome://tracing or Perfetto
  },
});
const seconds = Number(args.seconds);

const browser = await chromium.launch({
  executablePath: args.chromium,
  headless: true,
  args: ['--no-sandbox', '--js-flags=--expose-gc', '--enable-precise-memory-info'],
});
const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
await page.addInitScript(() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ at: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
});
await page.goto(args.url);
await page.waitForSelector('#connection[data-state="live"]', { timeout: 20_000 });
const started = await page.evaluate(() => performance.now());
// The renderer's own record of its tasks, with the CPU time of each (tdur) beside its wall
// time (dur): on a machine whose cores are all busy, a task can be long only because the
// renderer waited for a core, which the long-task API cannot tell apart. Traced over
// seconds --trace-from (10) to that + TRACE_SECONDS of the measurement (a whole run's trace
// would not fit in a string), with --trace only: tracing slows the browser, and collecting
// the trace stops the sampling for tens of seconds, so a traced run's other figures are not
// the page's.
const TRACE_FROM = Number(args['trace-from']);
const TRACE_SECONDS = Math.min(20, Math.max(1, seconds - TRACE_FROM));
let tracing = false;
let trace = null;

// The live heap is read after a forced full GC, which costs the page's main thread tens of
// milliseconds: every HEAP_EVERY seconds, not every second, so the measurement takes little of
// the core it measures.
const HEAP_EVERY = 5;
const samples = [];
for (let s = 0; s < seconds; s++) {
  if (args.trace && s === TRACE_FROM) {
    await browser.startTracing(page, {
      categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8'],
    });
    tracing = true;
  }
  if (tracing && s === TRACE_FROM + TRACE_SECONDS) {
    trace = JSON.parse((await browser.stopTracing()).toString());
    tracing = false;
  }
  await page.waitForTimeout(1000);
  samples.push(await page.evaluate((collect) => {
    const from = performance.now();
    if (collect) window.gc();
    return {
      from: Math.round(from),
      t: Math.round(performance.now()),
      heap: collect ? performance.memory.usedJSHeapSize : null,
      dom: document.getElementsByTagName('*').length,
      messages: window.matchdStream.received,
      frames: window.matchdStream.frames ?? window.matchdStream.received, // unbatched: one each
      drops: window.matchdStream.drops ?? 0,
      state: document.getElementById('connection').dataset.state,
    };
  }, s % HEAP_EVERY === 0));
}
const longTasks = (await page.evaluate(() => window.__longTasks)).filter((t) => t.at >= started);
// The measurement's own work (a forced GC and a DOM count each second) runs on the page's main
// thread too: a long task holding one of those is counted apart.
const duringSampling = (t) => samples.some((s) => t.at <= s.t && t.at + t.ms >= s.from);
if (tracing) trace = JSON.parse((await browser.stopTracing()).toString());
await browser.close();
if (trace && args['trace-out']) writeFileSync(args['trace-out'], JSON.stringify(trace));

// The main thread of the page's renderer, and its top-level tasks.
const events = trace ? (trace.traceEvents ?? trace) : [];
const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
// Every traced event on the main thread, in nesting order (a parent before its children).
const onMain = main
  ? events.filter((e) => e.ph === 'X' && e.pid === main.pid && e.tid === main.tid && e.dur >= 0)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur)
  : [];
const tasks = onMain.filter((e) => e.name === 'RunTask');
const overMs = (list, field, ms) => list.filter((e) => (e[field] ?? 0) / 1000 > ms).length;
const cpu = tasks.map((e) => (e.tdur ?? 0) / 1000).sort((a, b) => a - b);

// Each event's own time (its time less its children's): `field` 'dur' for wall time, 'tdur'
// for CPU time.
function ownTimes(list, field) {
  const stack = [];
  const own = new Map();
  const time = (e) => e[field] ?? e.dur;
  for (const e of list) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    if (stack.length) own.set(stack.at(-1), own.get(stack.at(-1)) - time(e));
    own.set(e, time(e));
    stack.push(e);
  }
  return own;
}
// Own times summed by `label`, largest first.
function sumBy(own, label, top) {
  const sums = new Map();
  for (const [e, us] of own) sums.set(label(e), (sums.get(label(e)) ?? 0) + us);
  return [...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}
// A script call is named by its function and file, so that the page's code, the chart library
// and the browser's style, layout, paint and garbage collection come apart.
const label = (e) => {
  const d = e.args?.data;
  if (e.name === 'FunctionCall' && d) return `FunctionCall ${d.functionName || '(anonymous)'} ${path.basename(d.url || '')}:${d.lineNumber ?? ''}`;
  if (e.name === 'EventDispatch' && d?.type) return `EventDispatch ${d.type}`;
  return e.name;
};

// Where the main thread's CPU goes, long tasks or not: own CPU time by event, ms per second.
const ownCpuPerSecond = Object.fromEntries(sumBy(ownTimes(onMain, 'tdur'), (e) => e.name, 15)
  .map(([k, us]) => [k, Math.round(us / 1000 / TRACE_SECONDS * 10) / 10]));

// What the long tasks (over 50 ms of wall time) spent their wall time on, each and together.
const longTaskDetails = [];
const insideLongTasks = new Map();
for (const task of tasks.filter((t) => t.dur / 1000 > 50)) {
  const inside = onMain.filter((e) => e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur);
  const own = sumBy(ownTimes(inside, 'dur'), label, Infinity);
  for (const [k, us] of own) insideLongTasks.set(k, (insideLongTasks.get(k) ?? 0) + us);
  longTaskDetails.push({
    wall_ms: Math.round(task.dur / 1000), cpu_ms: Math.round((task.tdur ?? 0) / 1000),
    own: Object.fromEntries(own.slice(0, 6).map(([k, us]) => [k, Math.round(us / 100) / 10])),
  });
}
const insideTotal = [...insideLongTasks.values()].reduce((a, b) => a + b, 0) || 1;
const longTasksOwnTime = Object.fromEntries([...insideLongTasks.entries()].sort((a, b) => b[1] - a[1])
  .slice(0, 25).map(([k, us]) => [k, `${Math.round(us / 1000)} ms (${Math.round((us / insideTotal) * 1000) / 10}%)`]));

const mb = (b) => Math.round((b / 1048576) * 100) / 100;
const heaps = samples.map((s) => s.heap).filter((h) => h !== null);
const half = Math.floor(heaps.length / 2);
const result = {
  seconds,
  messages: samples.at(-1).messages - samples[0].messages,
  messages_per_second_max: Math.max(...samples.slice(1).map((s, i) => s.messages - samples[i].messages)),
  // WebSocket messages (the page asks for batches: each an array of messages).
  frames: samples.at(-1).frames - samples[0].frames,
  frames_per_second_max: Math.max(...samples.slice(1).map((s, i) => s.frames - samples[i].frames)),
  connections_lost: samples.at(-1).drops - samples[0].drops,
  long_tasks: longTasks.length,
  long_task_max_ms: longTasks.length ? Math.max(...longTasks.map((t) => t.ms)) : 0,
  long_tasks_over_100ms: longTasks.filter((t) => t.ms > 100).length,
  long_tasks_holding_a_sample: longTasks.filter(duringSampling).length,
  // From the trace: the main thread's tasks, by wall time and by CPU time.
  traced_tasks: tasks.length,
  traced_tasks_wall_over_50ms: overMs(tasks, 'dur', 50),
  traced_tasks_cpu_over_50ms: overMs(tasks, 'tdur', 50),
  traced_task_cpu_max_ms: cpu.length ? Math.round(cpu.at(-1) * 10) / 10 : 0,
  traced_task_cpu_p99_ms: cpu.length ? Math.round(cpu[Math.floor(cpu.length * 0.99)] * 100) / 100 : 0,
  traced_seconds: TRACE_SECONDS,
  traced_own_cpu_ms_per_second: ownCpuPerSecond,
  traced_long_tasks_own_time: longTasksOwnTime,
  // Garbage collections on the main thread in the traced window: how many, and their time.
  traced_gc: Object.fromEntries(['MajorGC', 'MinorGC'].map((name) => {
    const gcs = onMain.filter((e) => e.name === name);
    return [name, { count: gcs.length, ms: Math.round(gcs.reduce((a, e) => a + e.dur, 0) / 1000),
      max_ms: Math.round(Math.max(0, ...gcs.map((e) => e.dur)) / 1000) }];
  })),
  main_thread_cpu_share: tasks.length
    ? Math.round((cpu.reduce((a, b) => a + b, 0) / (TRACE_SECONDS * 1000)) * 1000) / 1000 : 0,
  heap_mb_first: mb(heaps[0]),
  heap_mb_max: mb(Math.max(...heaps)),
  heap_mb_last: mb(heaps.at(-1)),
  // The second half's heap after GC, first and last: growth there is what would not stop.
  heap_mb_second_half: [mb(heaps[half]), mb(heaps.at(-1))],
  dom_elements_max: Math.max(...samples.map((s) => s.dom)),
  dom_elements_last: samples.at(-1).dom,
  not_live_seconds: samples.filter((s) => s.state !== 'live').length,
  page_errors: errors,
  traced_long_task_list: longTaskDetails,
  long_task_list: longTasks.map((t) => ({ at: Math.round(t.at), ms: Math.round(t.ms), sample: duringSampling(t) })),
  samples,
};
const { samples: _, long_task_list: __, traced_long_task_list: ___, ...summary } = result;
console.log(JSON.stringify(summary, null, 1));
if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 1));
