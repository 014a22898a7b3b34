// Package metrics counts what gohost does and serves it to Prometheus.
//
// Each worker process keeps a Recorder and sends its cumulative Snapshot to
// the master every second over the control pipe. The master's Aggregator
// sums the live workers' snapshots with what exited workers had counted (so
// counters never go backwards when a worker is replaced) and serves
// /metrics, /healthz and /readyz on --metrics-bind.
package metrics
