package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own (so that two
// servers in one process do not collide), with the Go runtime's and the process's.
type metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	promptTokens     prometheus.Counter
	completionTokens prometheus.Counter
	ttft             prometheus.Histogram
	rejected         prometheus.Counter
	cancelled        prometheus.Counter
	window           rateWindow
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "golem_http_requests_total",
		Help: "HTTP requests answered, by endpoint and status code.",
	}, []string{"endpoint", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "golem_http_request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer (a stream's included), by endpoint.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"endpoint"})
	m.promptTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "golem_prompt_tokens_total",
		Help: "Prompt tokens of finished generations and embeddings.",
	})
	m.completionTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "golem_completion_tokens_total",
		Help: "Tokens generated.",
	})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "golem_time_to_first_token_seconds",
		Help:    "Time from a generation request's arrival (queueing included) to its first piece of text.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "golem_requests_rejected_total",
		Help: "Requests answered 503 because every slot was busy and the queue was full.",
	})
	m.cancelled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "golem_requests_cancelled_total",
		Help: "Generations stopped because the client went away (or the server shut down).",
	})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		m.requests, m.duration, m.promptTokens, m.completionTokens, m.ttft, m.rejected, m.cancelled,
		gauge("golem_queue_depth", "Requests waiting for a slot.", func() float64 {
			_, waiting := s.Busy()
			return float64(waiting)
		}),
		gauge("golem_slots_busy", "Generations running (slots in use).", func() float64 {
			running, _ := s.Busy()
			return float64(running)
		}),
		gauge("golem_slots", "Slots: the most generations running at once.", func() float64 {
			if st := s.state.Load(); st != nil {
				return float64(st.gate.slots)
			}
			return 0
		}),
		gauge("golem_tokens_per_second", "Tokens generated per second over the last 10 seconds, all requests together.", m.window.rate),
		gauge("golem_model_loaded", "1 once the model is loaded and served.", func() float64 {
			if s.state.Load() != nil {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// instrument counts and times the requests of one endpoint.
func (m *metrics) instrument(endpoint string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"endpoint": endpoint}
	return promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels),
		promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels), h))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// rateWindow counts tokens per second over the last windowSeconds whole seconds.
type rateWindow struct {
	mu     sync.Mutex
	counts [windowSeconds + 1]float64
	secs   [windowSeconds + 1]int64
}

const windowSeconds = 10

func (r *rateWindow) add(n int) {
	if n <= 0 {
		return
	}
	now := time.Now().Unix()
	i := now % int64(len(r.counts))
	r.mu.Lock()
	if r.secs[i] != now {
		r.secs[i], r.counts[i] = now, 0
	}
	r.counts[i] += float64(n)
	r.mu.Unlock()
}

func (r *rateWindow) rate() float64 {
	now := time.Now().Unix()
	var sum float64
	r.mu.Lock()
	for i, s := range r.secs {
		if s >= now-windowSeconds && s < now {
			sum += r.counts[i]
		}
	}
	r.mu.Unlock()
	return sum / windowSeconds
}
