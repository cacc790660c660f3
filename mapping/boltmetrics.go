package mapping

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"
)

// boltCollector reports what the embedded store keeps on disk and in
// memory, read when Prometheus scrapes: the send log grows with the SEND
// rate times the records' TTL, and its index with it, so an operator sizes
// data_dir and the memory limit from these.
type boltCollector struct {
	b           *Bolt
	fileBytes   *prometheus.Desc
	sendRecords *prometheus.Desc
}

var _ prometheus.Collector = (*boltCollector)(nil)

// NewBoltCollector is the collector of b's sizes. The file label is the
// one connector_proxy_store_commit_* carry: bbolt or send_log.
func NewBoltCollector(b *Bolt) prometheus.Collector {
	return &boltCollector{
		b: b,
		fileBytes: prometheus.NewDesc("connector_proxy_store_file_bytes",
			"Bytes the embedded store's files take: the bbolt file, and the send log's files together.",
			[]string{"file"}, nil),
		sendRecords: prometheus.NewDesc("connector_proxy_store_send_records",
			"Send records the send log's in-memory index holds: those in force, and expired ones until their file is deleted.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *boltCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.fileBytes
	ch <- c.sendRecords
}

// Collect implements prometheus.Collector. A bbolt file that cannot be
// stat'ed is left out rather than reported as empty.
func (c *boltCollector) Collect(ch chan<- prometheus.Metric) {
	if fi, err := os.Stat(c.b.db.Path()); err == nil {
		ch <- prometheus.MustNewConstMetric(c.fileBytes, prometheus.GaugeValue, float64(fi.Size()), "bbolt")
	}
	ch <- prometheus.MustNewConstMetric(c.fileBytes, prometheus.GaugeValue, float64(c.b.log.size.Load()), "send_log")
	ch <- prometheus.MustNewConstMetric(c.sendRecords, prometheus.GaugeValue, float64(c.b.sends.len()))
}
