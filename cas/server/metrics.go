package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"
)

// metrics are the server's counters, rendered in Prometheus' text format
// by hand (a handful of counters do not justify a client library).
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // {method, code} -> count
	seconds  map[string]float64   // method -> total time

	bytesReceived atomic.Int64 // blob content uploaded
	bytesSent     atomic.Int64 // blob content downloaded
	corrupt       atomic.Int64 // stored blobs found corrupted (and removed)
	rejected      atomic.Int64 // uploads refused for not matching their digest
	evictedBlobs  atomic.Int64
	evictedBytes  atomic.Int64
	authFailures  atomic.Int64
	acHits        atomic.Int64
	acMisses      atomic.Int64
	assetHits     atomic.Int64
	assetMisses   atomic.Int64
	incomplete    atomic.Int64 // entries dropped because content they name expired
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, seconds: map[string]float64{}}
}

// start times one call; the returned function records its outcome.
func (m *metrics) start(method string) func(error) {
	t := time.Now()
	return func(err error) {
		code := status.Code(err).String()
		m.mu.Lock()
		m.requests[[2]string{method, code}]++
		m.seconds[method] += time.Since(t).Seconds()
		m.mu.Unlock()
	}
}

// write renders every metric; gauges come from the store.
func (m *metrics) write(w io.Writer, st storeStats) {
	p := func(name, help, typ string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	p("bst_server_requests_total", "gRPC calls handled, by method and status code.", "counter")
	for _, k := range keys {
		fmt.Fprintf(w, "bst_server_requests_total{method=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	methods := make([]string, 0, len(m.seconds))
	for k := range m.seconds {
		methods = append(methods, k)
	}
	sort.Strings(methods)
	p("bst_server_request_seconds_total", "Time spent handling gRPC calls, by method.", "counter")
	for _, k := range methods {
		fmt.Fprintf(w, "bst_server_request_seconds_total{method=%q} %g\n", k, m.seconds[k])
	}
	m.mu.Unlock()
	counters := []struct {
		name, help string
		v          int64
	}{
		{"bst_server_received_bytes_total", "Blob content uploaded to the server.", m.bytesReceived.Load()},
		{"bst_server_sent_bytes_total", "Blob content sent by the server.", m.bytesSent.Load()},
		{"bst_server_corrupt_blobs_total", "Stored blobs found corrupted on read, and removed.", m.corrupt.Load()},
		{"bst_server_rejected_uploads_total", "Uploads refused because their content did not match their digest.", m.rejected.Load()},
		{"bst_server_evicted_blobs_total", "Blobs removed to stay within the quota.", m.evictedBlobs.Load()},
		{"bst_server_evicted_bytes_total", "Bytes removed to stay within the quota.", m.evictedBytes.Load()},
		{"bst_server_auth_failures_total", "Calls refused for missing or insufficient credentials.", m.authFailures.Load()},
		{"bst_server_action_cache_hits_total", "GetActionResult calls answered.", m.acHits.Load()},
		{"bst_server_action_cache_misses_total", "GetActionResult calls not found.", m.acMisses.Load()},
		{"bst_server_asset_hits_total", "Remote Asset fetches answered.", m.assetHits.Load()},
		{"bst_server_asset_misses_total", "Remote Asset fetches not found.", m.assetMisses.Load()},
		{"bst_server_incomplete_entries_total", "Action results and assets dropped because content they name expired.", m.incomplete.Load()},
	}
	for _, c := range counters {
		p(c.name, c.help, "counter")
		fmt.Fprintf(w, "%s %d\n", c.name, c.v)
	}
	gauges := []struct {
		name, help string
		v          int64
	}{
		{"bst_server_stored_bytes", "Bytes of blobs stored.", st.bytes},
		{"bst_server_stored_blobs", "Blobs stored.", st.blobs},
		{"bst_server_quota_bytes", "The quota (0: none).", st.quota},
	}
	for _, g := range gauges {
		p(g.name, g.help, "gauge")
		fmt.Fprintf(w, "%s %d\n", g.name, g.v)
	}
}

// HTTPHandler serves /metrics (Prometheus) and /healthz, which answers
// 200 "ok" while the cache directory can be written.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w, s.blobs.stats())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.healthy(); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}
