// Package deploy holds no code: it is the home of the tests that check what
// is deployed beside the proxy, since no cluster and no Grafana run here.
//
// kubernetes/ has the manifests (sidecar/: one pod, a chat server with
// connector-proxy beside it, on the embedded store; replicas/: three such
// pods on one Redis, with the stickiness Socket.IO's polling needs). The
// tests decode every document strictly into the Kubernetes API types
// (k8s.io/api; unknown fields and unknown kinds refused) and check the
// references between them and the proxy: probes on the admin listener's
// port and paths, every CONNECTOR_PROXY_ variable and the mounted file
// accepted by package config, a grace period that covers shutdown_timeout
// and the preStop pause, Services, budgets and Ingresses that select the
// pods and name their ports.
//
// monitoring/ has a Grafana dashboard and Prometheus alerting rules. The
// rules are checked with promtool (check rules, and test rules on
// monitoring/alerts_test.yaml), the dashboard's queries are parsed by
// promtool too, and every metric either names is looked up in what a real
// proxy in demo mode exports on its admin /metrics.
package deploy
