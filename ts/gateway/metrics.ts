// GET /metrics: Prometheus text exposition (format 0.0.4) of the broker's state, computed on
// scrape (nothing is sampled in the background): store counters, topics' stored messages,
// consumer lag per group and queue, connections, parked pulls, disk, process memory and
// page-cache hints (the residency part is sampled by the engine's own thread, so a scrape
// only copies its latest numbers).
import { readFileSync, statfsSync } from 'node:fs';
import { consumeStats } from '../broker/admin-stats-processors.js';
import type { BrokerContext } from '../broker/broker-context.js';
import type { LatencyHistogram } from '../broker/traffic-stats.js';

export interface MetricsSource {
  context: BrokerContext;
  connectionCount(): number;
  parkedPulls(): number;
  startedAt: number;
  /** Gateway's own counters. */
  gateway: { requests: number; produced: number; errors: number };
}

type Labels = Record<string, string | number>;

class Exposition {
  readonly #lines: string[] = [];
  readonly #declared = new Set<string>();

  /** One sample; `family` is the metric family a histogram's _bucket/_sum/_count belong to. */
  metric(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, value: number, labels: Labels = {}, family = name): void {
    if (!this.#declared.has(family)) {
      this.#declared.add(family);
      this.#lines.push(`# HELP ${family} ${help}`, `# TYPE ${family} ${type}`);
    }
    const keys = Object.keys(labels);
    const labelText = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',')}}`;
    this.#lines.push(`${name}${labelText} ${Number.isFinite(value) ? value : 'NaN'}`);
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
}

/** RssAnon / RssFile of this process (Linux), in bytes; absent elsewhere. */
function procMemory(): { rssAnon?: number; rssFile?: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => {
      const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
      return match ? Number(match[1]) * 1024 : undefined;
    };
    const rssAnon = kb('RssAnon');
    const rssFile = kb('RssFile');
    return { ...(rssAnon === undefined ? {} : { rssAnon }), ...(rssFile === undefined ? {} : { rssFile }) };
  } catch {
    return {};
  }
}

/** Page faults of this process since start (Linux /proc/self/stat fields 10 and 12). */
function procFaults(): { minor: number; major: number } | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const minor = Number(fields[7]);
    const major = Number(fields[9]);
    return Number.isSafeInteger(minor) && Number.isSafeInteger(major) ? { minor, major } : undefined;
  } catch {
    return undefined;
  }
}

// The gateway reaches the store only through the broker (see test/unit/architecture.test.ts).
type StoreStatistics = ReturnType<BrokerContext['store']['stats']>;

function pageCacheMetrics(out: Exposition, context: BrokerContext, stats: StoreStatistics, broker: Labels): void {
  const pullsHelp = 'Messages returned by getMessages (pulls, pops, schedule/timer scans), by RocketMQ\'s estimate of where they were read from';
  out.metric('bolide_pull_messages_total', 'counter', pullsHelp, stats.readMessagesInMemory, { ...broker, source: 'memory' });
  out.metric('bolide_pull_messages_total', 'counter', pullsHelp, stats.readMessagesOnDisk, { ...broker, source: 'disk' });
  const bytesHelp = 'Bytes returned by getMessages, by RocketMQ\'s estimate of where they were read from';
  out.metric('bolide_pull_bytes_total', 'counter', bytesHelp, stats.readBytesInMemory, { ...broker, source: 'memory' });
  out.metric('bolide_pull_bytes_total', 'counter', bytesHelp, stats.readBytesOnDisk, { ...broker, source: 'disk' });
  const pageCache = context.store.pageCache();
  out.metric('bolide_pull_in_memory_window_bytes', 'gauge',
    'Reads at most this far behind the CommitLog write head count as source="memory" (physical memory x accessMessageInMemoryMaxRatio)',
    pageCache.inMemoryWindowBytes, broker);
  const residency = pageCache.residency;
  if (residency === undefined) return; // the sampler has not finished its first pass (or is off)
  out.metric('bolide_commitlog_mapped_bytes', 'gauge', 'Bytes of mapped CommitLog segments (whole preallocated files)', residency.mappedBytes, broker);
  out.metric('bolide_commitlog_resident_bytes', 'gauge', 'Of the mapped CommitLog bytes, those in the page cache (mincore, sampled)', residency.residentBytes, broker);
  out.metric('bolide_commitlog_hot_tail_bytes', 'gauge', 'Size of the window just before the write head measured on its own (up to 64 MiB)', residency.hotTailBytes, broker);
  out.metric('bolide_commitlog_hot_tail_resident_bytes', 'gauge', 'Of the hot-tail window, bytes in the page cache (mincore, sampled)', residency.hotTailResidentBytes, broker);
  out.metric('bolide_commitlog_residency_sampled_timestamp_seconds', 'gauge', 'When the residency gauges were sampled, Unix seconds', residency.sampledAtMs / 1000, broker);
  out.metric('bolide_commitlog_residency_sample_seconds', 'gauge', 'How long the last residency sample took', residency.sampleMicros / 1e6, broker);
}

function histogram(out: Exposition, name: string, help: string, h: LatencyHistogram, labels: Labels): void {
  const { buckets, sum, count } = h.snapshot();
  for (const [le, cumulative] of buckets) {
    out.metric(`${name}_bucket`, 'histogram', help, cumulative, { ...labels, le: Number.isFinite(le) ? String(le / 1000) : '+Inf' }, name);
  }
  out.metric(`${name}_sum`, 'histogram', help, sum / 1000, labels, name);
  out.metric(`${name}_count`, 'histogram', help, count, labels, name);
}

export function renderMetrics(source: MetricsSource): string {
  const { context } = source;
  const out = new Exposition();
  const broker = { cluster: context.options.brokerClusterName, broker: context.options.brokerName };
  const stats = context.store.stats();
  out.metric('bolide_messages_appended_total', 'counter', 'Messages appended to the CommitLog', stats.appendedMessages, broker);
  out.metric('bolide_bytes_appended_total', 'counter', 'Bytes appended to the CommitLog', stats.appendedBytes, broker);
  out.metric('bolide_fsyncs_total', 'counter', 'CommitLog fsync calls (group commit batches)', stats.fsyncs, broker);
  out.metric('bolide_messages_dispatched_total', 'counter', 'Messages dispatched to ConsumeQueues and the index', stats.dispatchedMessages, broker);
  out.metric('bolide_sendfile_bytes_total', 'counter', 'Pull response bytes sent with sendfile', stats.transferredBytes, broker);
  out.metric('bolide_segment_allocation_stalls_total', 'counter', 'Appends that waited for a new CommitLog segment', stats.allocationStalls, broker);
  out.metric('bolide_segments_deleted_total', 'counter', 'CommitLog segments removed by retention', stats.segmentsDeleted, broker);
  out.metric('bolide_commitlog_max_offset_bytes', 'gauge', 'CommitLog write position', context.store.commitLogMaxOffset, broker);
  out.metric('bolide_commitlog_min_offset_bytes', 'gauge', 'Oldest CommitLog offset still stored', context.store.commitLogMinOffset, broker);
  out.metric('bolide_connections', 'gauge', 'Open client connections (both remoting ports)', source.connectionCount(), broker);
  out.metric('bolide_long_polls_parked', 'gauge', 'Pulls parked by long polling', source.parkedPulls(), broker);
  out.metric('bolide_http_requests_total', 'counter', 'Requests the gateway handled', source.gateway.requests, broker);
  out.metric('bolide_http_messages_produced_total', 'counter', 'Messages produced through the gateway', source.gateway.produced, broker);
  out.metric('bolide_http_errors_total', 'counter', 'Gateway requests answered with an error', source.gateway.errors, broker);

  const traffic = context.stats.traffic;
  for (const [topic, t] of traffic.topics()) {
    out.metric('bolide_topic_messages_in_total', 'counter', 'Messages stored for a topic since start', t.messagesIn, { ...broker, topic });
    out.metric('bolide_topic_bytes_in_total', 'counter', 'Bytes stored for a topic since start (record sizes)', t.bytesIn, { ...broker, topic });
    out.metric('bolide_topic_messages_out_total', 'counter', 'Messages pulled from a topic since start', t.messagesOut, { ...broker, topic });
    out.metric('bolide_topic_bytes_out_total', 'counter', 'Bytes pulled from a topic since start', t.bytesOut, { ...broker, topic });
  }
  // The engine's own histogram: each CommitLog fsync (a group commit, or a periodic flush).
  let cumulative = 0;
  stats.fsyncBuckets.forEach((count, i) => {
    cumulative += count;
    const bound = stats.fsyncBucketBoundsMicros[i];
    out.metric('bolide_fsync_seconds_bucket', 'histogram', 'CommitLog fsync (msync) duration', cumulative,
      { ...broker, le: bound === undefined ? '+Inf' : String(bound / 1e6) }, 'bolide_fsync_seconds');
  });
  out.metric('bolide_fsync_seconds_sum', 'histogram', 'CommitLog fsync (msync) duration', stats.fsyncMicrosTotal / 1e6, broker, 'bolide_fsync_seconds');
  out.metric('bolide_fsync_seconds_count', 'histogram', 'CommitLog fsync (msync) duration', stats.fsyncs, broker, 'bolide_fsync_seconds');
  pageCacheMetrics(out, context, stats, broker);
  const timers = context.timerStats();
  out.metric('bolide_timer_messages_pending', 'gauge', 'Timer messages stored and not yet delivered (capped by timerMaxPendingMessages)', timers.backlog, broker);
  out.metric('bolide_timer_wheel_bytes', 'gauge', 'Bytes of the timing wheel\'s node pool (28 per pending timer, grown in 1.75 MiB chunks)', timers.wheelBytes, broker);
  out.metric('bolide_timer_messages_recalled_total', 'counter', 'Timer messages not delivered because RECALL_MESSAGE cancelled them', timers.recalled, broker);
  out.metric('bolide_timer_recalls_pending', 'gauge', 'Recalls held in memory until their marker\'s time passes', timers.pendingCancellations, broker);
  histogram(out, 'bolide_send_latency_seconds', 'Send requests from decode to answer (SYNC_FLUSH wait included)', traffic.sendLatency, broker);
  histogram(out, 'bolide_flush_wait_seconds', 'SYNC_FLUSH sends waiting for their group commit', traffic.flushWaitLatency, broker);
  histogram(out, 'bolide_pull_latency_seconds', 'Pulls that found messages, from decode to answer (parking excluded)', traffic.pullLatency, broker);
  for (const [topic, config] of Object.entries(context.topics.snapshot())) {
    let stored = 0;
    let written = 0;
    for (let queueId = 0; queueId < config.writeQueueNums; queueId += 1) {
      const max = Math.max(0, context.store.maxOffset(topic, queueId));
      stored += max - Math.max(0, context.store.minOffset(topic, queueId));
      written += max;
    }
    out.metric('bolide_topic_messages_stored', 'gauge', 'Messages a topic holds on this broker', stored, { ...broker, topic });
    out.metric('bolide_topic_messages_written_total', 'counter', 'Messages ever written to a topic (sum of queue max offsets)', written, { ...broker, topic });
  }
  const groups = new Set([...context.groups.groups(), ...context.clients.consumerGroupNames(), ...context.offsets.groups()]);
  for (const group of groups) {
    const online = context.clients.consumerGroup(group);
    out.metric('bolide_consumer_clients', 'gauge', 'Consumers of a group connected to this broker', online?.channels.size ?? 0, { ...broker, group });
    for (const [queue, w] of consumeStats(context, group).offsets) {
      out.metric('bolide_consumer_lag_messages', 'gauge', 'Messages stored but not yet committed by the group, per queue',
        Math.max(0, w.brokerOffset - w.consumerOffset), { ...broker, group, topic: queue.topic, queue: queue.queueId });
    }
  }
  try {
    const fs = statfsSync(context.options.storePathRootDir);
    out.metric('bolide_disk_total_bytes', 'gauge', 'Size of the file system holding the store', fs.blocks * fs.bsize, broker);
    out.metric('bolide_disk_free_bytes', 'gauge', 'Free bytes for unprivileged users on the store file system', fs.bavail * fs.bsize, broker);
  } catch {
    // no store directory stats on this platform: leave the family out
  }
  const memory = process.memoryUsage();
  out.metric('process_resident_memory_bytes', 'gauge', 'Resident set size', memory.rss);
  const proc = procMemory();
  if (proc.rssAnon !== undefined) out.metric('bolide_process_rss_anon_bytes', 'gauge', 'Anonymous resident memory (heap, buffers, native)', proc.rssAnon);
  if (proc.rssFile !== undefined) out.metric('bolide_process_rss_file_bytes', 'gauge', 'File-backed resident memory (mapped CommitLog pages)', proc.rssFile);
  const faults = procFaults();
  if (faults !== undefined) {
    out.metric('bolide_process_major_page_faults_total', 'counter', 'Page faults that waited for disk (a mapped page not in the page cache)', faults.major);
    out.metric('bolide_process_minor_page_faults_total', 'counter', 'Page faults served without disk (page already in memory)', faults.minor);
  }
  out.metric('nodejs_heap_used_bytes', 'gauge', 'V8 heap used', memory.heapUsed);
  out.metric('nodejs_external_memory_bytes', 'gauge', 'Memory of Buffers and other external objects', memory.external);
  out.metric('process_start_time_seconds', 'gauge', 'Start time of the broker, Unix seconds', Math.floor(source.startedAt / 1000));
  return out.text();
}
