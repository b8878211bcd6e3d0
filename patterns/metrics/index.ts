/**
 * Prometheus metrics for the patterns (`privateer/metrics`): counters,
 * gauges and a latency histogram fed by a broker's, queue's or Binary Star
 * server's event stream, an HTTP endpoint to scrape them, and the same
 * figures as an RxJS stream. A separate entry so that applications that do
 * not use metrics never load prom-client.
 *
 * @packageDocumentation
 * @module privateer/metrics
 */
export {
  PatternMetrics,
  serveMetrics,
  parseAddress,
  type PatternMetricsOptions,
  type MetricsPattern,
  type MetricsSnapshot,
  type ServiceFigures,
  type MetricsServer,
  type ObservableBroker,
  type ObservableQueue,
  type ObservableBinaryStar,
} from "./metrics";
