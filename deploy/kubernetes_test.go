package deploy

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var variants = []string{"sidecar", "replicas"}

func TestManifestsDecodeStrictly(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			kinds := map[string]int{}
			for _, o := range loadVariant(t, v) {
				kinds[o.gvk.Kind]++
			}
			for _, k := range []string{"Deployment", "ConfigMap", "Secret", "Service", "PodDisruptionBudget", "Ingress"} {
				if kinds[k] == 0 {
					t.Errorf("kubernetes/%s has no %s", v, k)
				}
			}
		})
	}
}

// The decoder the other tests rely on refuses what kubectl --validate=strict
// would: without this, a misspelt field would pass them unseen.
func TestTheDecoderRefusesWhatAClusterWould(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 3}\n", `unknown field "spec.replica"`},
		{"field in the wrong place", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetport: 8080}]}\n", "unknown field"},
		{"field given twice", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n", "already set"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: three}\n", "cannot unmarshal"},
		{"unknown kind", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\n", "no kind"},
		{"kind in the wrong version", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n", "no kind"},
	}
	s := scheme(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeStrict(s, []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func selects(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

func TestPodFitsTheProxy(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			p := resolvePod(t, v)
			cfg := p.loaded(t)
			podLabels := p.dep.Spec.Template.Labels

			t.Run("the Deployment selects its pods", func(t *testing.T) {
				if !selects(t, p.dep.Spec.Selector, podLabels) {
					t.Fatalf("selector %v does not match the template's labels %v", p.dep.Spec.Selector, podLabels)
				}
			})
			t.Run("listeners and ports", func(t *testing.T) {
				if got, want := namedPort(t, p.proxy, "http"), listenPort(t, cfg.Listen); got != want {
					t.Errorf("port http = %d, the proxy listens on %d", got, want)
				}
				if got, want := namedPort(t, p.proxy, "admin"), listenPort(t, cfg.AdminListen); got != want {
					t.Errorf("port admin = %d, the admin listener is on %d", got, want)
				}
				if a := p.dep.Spec.Template.Annotations["prometheus.io/port"]; a != fmt.Sprint(listenPort(t, cfg.AdminListen)) {
					t.Errorf("prometheus.io/port %q is not the admin listener's port", a)
				}
			})
			t.Run("probes on the admin listener", func(t *testing.T) {
				admin := listenPort(t, cfg.AdminListen)
				for name, pr := range map[string]struct {
					probe *corev1.Probe
					path  string
				}{
					"startup":   {p.proxy.StartupProbe, "/healthz"},
					"liveness":  {p.proxy.LivenessProbe, "/healthz"},
					"readiness": {p.proxy.ReadinessProbe, "/readyz"},
				} {
					if pr.probe == nil || pr.probe.HTTPGet == nil {
						t.Errorf("%s probe: want an httpGet", name)
						continue
					}
					if pr.probe.HTTPGet.Path != pr.path {
						t.Errorf("%s probe on %s, want %s", name, pr.probe.HTTPGet.Path, pr.path)
					}
					if got := containerPort(t, p.proxy, pr.probe.HTTPGet.Port); got != admin {
						t.Errorf("%s probe on port %d, the admin listener is on %d", name, got, admin)
					}
				}
				if rp := p.proxy.ReadinessProbe; rp != nil && rp.TimeoutSeconds <= 3 {
					t.Errorf("readiness timeout %ds: /readyz may take its full 3 s before answering 503", rp.TimeoutSeconds)
				}
			})
			t.Run("grace period covers preStop and the drain", func(t *testing.T) {
				ls := p.proxy.Lifecycle
				if ls == nil || ls.PreStop == nil || ls.PreStop.Sleep == nil {
					t.Fatal("want a preStop sleep action (the distroless image has no shell for exec)")
				}
				preStop := time.Duration(ls.PreStop.Sleep.Seconds) * time.Second
				if p.spec.TerminationGracePeriodSeconds == nil {
					t.Fatal("terminationGracePeriodSeconds is not set (the default 30 s would be chosen by accident)")
				}
				grace := time.Duration(*p.spec.TerminationGracePeriodSeconds) * time.Second
				if grace < cfg.ShutdownTimeout+preStop {
					t.Fatalf("terminationGracePeriodSeconds %s < shutdown_timeout %s + preStop %s: SIGKILL would cut the drain", grace, cfg.ShutdownTimeout, preStop)
				}
			})
			t.Run("writable state is on a volume", func(t *testing.T) {
				sc := p.proxy.SecurityContext
				if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Fatal("want readOnlyRootFilesystem on the proxy container")
				}
				volumeFor(t, p.spec, p.proxy, path.Join(cfg.DataDir, "connector-proxy.db"))
			})
			t.Run("files the configuration names are mounted", func(t *testing.T) {
				for field, file := range map[string]string{"connector_api.key_file": cfg.ConnectorAPI.KeyFile, "tls.cert_file": cfg.TLS.CertFile, "tls.key_file": cfg.TLS.KeyFile} {
					if file == "" {
						continue
					}
					vol, _ := volumeFor(t, p.spec, p.proxy, file)
					if vol.Secret == nil {
						t.Errorf("%s %s is not on a Secret volume", field, file)
						continue
					}
					if _, ok := secretData(secret(t, p.objs, vol.Secret.SecretName))[path.Base(file)]; !ok {
						t.Errorf("%s: Secret %s has no key %s", field, vol.Secret.SecretName, path.Base(file))
					}
				}
			})
			t.Run("every reference resolves", func(t *testing.T) {
				for _, vol := range p.spec.Volumes {
					switch {
					case vol.ConfigMap != nil:
						configMap(t, p.objs, vol.ConfigMap.Name)
					case vol.Secret != nil:
						secret(t, p.objs, vol.Secret.SecretName)
					case vol.PersistentVolumeClaim != nil:
						found := false
						for _, c := range every[*corev1.PersistentVolumeClaim](p.objs) {
							found = found || c.Name == vol.PersistentVolumeClaim.ClaimName
						}
						if !found {
							t.Errorf("no PersistentVolumeClaim %q", vol.PersistentVolumeClaim.ClaimName)
						}
					}
				}
				for _, c := range p.spec.Containers {
					for _, e := range c.Env {
						if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
							if _, ok := secretData(secret(t, p.objs, r.SecretKeyRef.Name))[r.SecretKeyRef.Key]; !ok {
								t.Errorf("%s: env %s: Secret %s has no key %s", c.Name, e.Name, r.SecretKeyRef.Name, r.SecretKeyRef.Key)
							}
						}
					}
				}
			})
			t.Run("no service links in the environment", func(t *testing.T) {
				if p.spec.EnableServiceLinks == nil || *p.spec.EnableServiceLinks {
					t.Fatal("enableServiceLinks must be false: the Service connector-proxy would add CONNECTOR_PROXY_SERVICE_HOST and the like")
				}
			})
			t.Run("resources requested", func(t *testing.T) {
				r := p.proxy.Resources
				cpu, mem := r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory]
				if cpu.IsZero() || mem.IsZero() {
					t.Fatalf("requests %v: want cpu and memory", r.Requests)
				}
				if lim, ok := r.Limits[corev1.ResourceMemory]; !ok || lim.Cmp(mem) < 0 {
					t.Errorf("memory limit %v: want one, at least the request %v", r.Limits, mem.String())
				}
				if _, ok := r.Limits[corev1.ResourceCPU]; ok {
					t.Error("a CPU limit throttles the answers to AXP's webhooks; request CPU only")
				}
				if mem.Cmp(resource.MustParse("32Mi")) < 0 {
					t.Errorf("memory request %s is under the measured footprint under load", mem.String())
				}
			})
			t.Run("webhooks go to the chat server beside it", func(t *testing.T) {
				ports := map[string]bool{}
				for _, cp := range p.chat.Ports {
					ports[fmt.Sprint(cp.ContainerPort)] = true
				}
				for _, app := range cfg.ConnectorAPI.Apps {
					for key, hook := range app.Webhooks {
						u, err := url.Parse(hook)
						if err != nil {
							t.Fatal(err)
						}
						if u.Hostname() != "127.0.0.1" || !ports[u.Port()] {
							t.Errorf("app %s webhook %s = %s: not a port of the %s container on the pod's loopback", app.ClientID, key, hook, chatContainer)
						}
					}
				}
			})
			t.Run("no secret is published, and unfilled ones do not start", func(t *testing.T) {
				for _, s := range every[*corev1.Secret](p.objs) {
					for k, v := range secretData(s) {
						if v != "" {
							t.Errorf("Secret %s key %s has a value in the repository: anyone who read it knows it", s.Name, k)
						}
					}
				}
				_, _, err := configRead(p.config, p.env)
				if err == nil {
					t.Fatal("the manifests as shipped load: a pod would run with the published (empty) secrets")
				}
			})
		})
	}
}

func TestServicesBudgetsAndIngressesReachThePods(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			p := resolvePod(t, v)
			cfg := p.loaded(t)
			podLabels := p.dep.Spec.Template.Labels
			services := map[string]*corev1.Service{}
			for _, svc := range every[*corev1.Service](p.objs) {
				services[svc.Name] = svc
				if !strings.HasPrefix(svc.Name, "connector-proxy") || strings.Contains(svc.Name, "redis") {
					continue
				}
				if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) || len(svc.Spec.Selector) == 0 {
					t.Errorf("Service %s selects %v, not the Deployment's pods %v", svc.Name, svc.Spec.Selector, podLabels)
				}
				for _, sp := range svc.Spec.Ports {
					if got := containerPort(t, p.proxy, sp.TargetPort); got == listenPort(t, cfg.AdminListen) {
						t.Errorf("Service %s exposes the admin listener (%d): /metrics is for Prometheus on the pod", svc.Name, got)
					} else if got != listenPort(t, cfg.Listen) {
						t.Errorf("Service %s port %s goes to %d, not the public listener", svc.Name, sp.Name, got)
					}
				}
			}
			pdb := only[*policyv1.PodDisruptionBudget](t, p.objs)
			if !selects(t, pdb.Spec.Selector, podLabels) {
				t.Errorf("PodDisruptionBudget selects %v, not the pods %v", pdb.Spec.Selector, podLabels)
			}
			if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
				t.Error("a PodDisruptionBudget takes exactly one of minAvailable and maxUnavailable")
			}

			public, err := url.Parse(cfg.PublicURL)
			if err != nil || public.Scheme != "https" {
				t.Fatalf("public_url %q: AXP needs https", cfg.PublicURL)
			}
			ing := only[*networkingv1.Ingress](t, p.objs)
			var tlsHosts []string
			for _, tls := range ing.Spec.TLS {
				tlsHosts = append(tlsHosts, tls.Hosts...)
			}
			if !slices.Contains(tlsHosts, public.Hostname()) {
				t.Errorf("the Ingress has no TLS for %s, the host of public_url", public.Hostname())
			}
			// Every prefix the proxy routes (proxy.route) must reach it.
			routed := map[string]bool{}
			for _, rule := range ing.Spec.Rules {
				if rule.Host != public.Hostname() || rule.HTTP == nil {
					continue
				}
				for _, hp := range rule.HTTP.Paths {
					svc, ok := services[hp.Backend.Service.Name]
					if !ok {
						t.Errorf("Ingress path %s goes to Service %s, which is not in the manifests", hp.Path, hp.Backend.Service.Name)
						continue
					}
					if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
						return sp.Name == hp.Backend.Service.Port.Name || sp.Port == hp.Backend.Service.Port.Number
					}) {
						t.Errorf("Ingress path %s names port %v, which Service %s does not have", hp.Path, hp.Backend.Service.Port, svc.Name)
					}
					routed[strings.TrimSuffix(hp.Path, "/")] = true
				}
			}
			for _, prefix := range []string{"/webhooks/axp/", "/sentinel/", "/api/account/", "/api/customer/", "/socket.io/"} {
				if !prefixRouted(routed, prefix) {
					t.Errorf("no Ingress path for %s on %s", prefix, public.Hostname())
				}
			}
		})
	}
}

// prefixRouted reports whether an Ingress Prefix path (matched by whole
// path elements) covers prefix.
func prefixRouted(routed map[string]bool, prefix string) bool {
	p := strings.TrimSuffix(prefix, "/")
	for p != "" {
		if routed[p] {
			return true
		}
		p = p[:strings.LastIndex(p, "/")]
	}
	return routed[""]
}

func TestSidecarVariantIsOneReplicaOnItsVolume(t *testing.T) {
	p := resolvePod(t, "sidecar")
	cfg := p.loaded(t)
	if r := p.dep.Spec.Replicas; r == nil || *r != 1 {
		t.Fatalf("replicas %v: the embedded store is one replica's", r)
	}
	if cfg.Store.Driver != "bolt" {
		t.Fatalf("store.driver %s", cfg.Store.Driver)
	}
	if p.dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %s: a rolling update would start a pod that waits for the old one's volume and store lock", p.dep.Spec.Strategy.Type)
	}
	vol, _ := volumeFor(t, p.spec, p.proxy, path.Join(cfg.DataDir, "x"))
	if vol.PersistentVolumeClaim == nil {
		t.Errorf("data_dir %s is on %s, not a PersistentVolumeClaim: the store would not survive the pod", cfg.DataDir, vol.Name)
	}
}

func TestReplicasVariantSharesRedisAndIsSticky(t *testing.T) {
	p := resolvePod(t, "replicas")
	cfg := p.loaded(t)
	if r := p.dep.Spec.Replicas; r == nil || *r < 2 {
		t.Fatalf("replicas %v", r)
	}
	if cfg.Store.Driver != "redis" {
		t.Fatalf("store.driver %s", cfg.Store.Driver)
	}
	t.Run("one Redis for all, in the manifests", func(t *testing.T) {
		u, err := url.Parse(cfg.Store.RedisURL)
		if err != nil {
			t.Fatal(err)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range every[*corev1.Service](p.objs) {
			if svc.Name == host {
				for _, sp := range svc.Spec.Ports {
					if fmt.Sprint(sp.Port) == port {
						return
					}
				}
			}
		}
		t.Fatalf("redis_url %s names no Service and port of the manifests", cfg.Store.RedisURL)
	})
	t.Run("what must be one for all replicas is configured, not generated per pod", func(t *testing.T) {
		if cfg.AXP.WebhookToken == "" {
			t.Error("axp.webhook_token is generated per replica: each start-up would replace the others' AXP subscription")
		}
		if cfg.ConnectorAPI.KeyFile == "" {
			t.Error("connector_api.key_file is generated per replica: one replica's AppJWT would be refused by another")
		}
		if cfg.ReplicaID != "" {
			t.Errorf("replica_id %q would be the same for every replica", cfg.ReplicaID)
		}
	})
	t.Run("rolling updates keep replicas serving", func(t *testing.T) {
		ru := p.dep.Spec.Strategy.RollingUpdate
		if p.dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Errorf("strategy %+v: want a rolling update with maxUnavailable 0", p.dep.Spec.Strategy)
		}
		pdb := only[*policyv1.PodDisruptionBudget](t, p.objs)
		if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.Type != intstr.Int || mu.IntVal < 1 || mu.IntVal >= *p.dep.Spec.Replicas {
			t.Errorf("PodDisruptionBudget maxUnavailable %v: want 1 to replicas-1", mu)
		}
	})
	t.Run("Socket.IO polling reaches the pod holding its session", func(t *testing.T) {
		svc := only[*corev1.Service](t, filterNot(p.objs, "redis"))
		if svc.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
			t.Errorf("Service %s sessionAffinity %q, want ClientIP", svc.Name, svc.Spec.SessionAffinity)
		}
		ing := only[*networkingv1.Ingress](t, p.objs)
		a := ing.Annotations
		if a["nginx.ingress.kubernetes.io/affinity"] != "cookie" || a["nginx.ingress.kubernetes.io/session-cookie-name"] == "" {
			t.Errorf("Ingress annotations %v: want ingress-nginx cookie affinity", a)
		}
		// A held polling GET lasts up to ping_interval: the proxy must not
		// be cut off before it answers.
		if rt := a["nginx.ingress.kubernetes.io/proxy-read-timeout"]; rt == "" || mustSeconds(t, rt) <= cfg.CustomerChannel.PingInterval {
			t.Errorf("proxy-read-timeout %q must exceed ping_interval %s", rt, cfg.CustomerChannel.PingInterval)
		}
	})
}

func mustSeconds(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// filterNot drops the objects of files whose name contains word.
func filterNot(objs []object, word string) []object {
	var out []object
	for _, o := range objs {
		if !strings.Contains(path.Base(o.file), word) {
			out = append(out, o)
		}
	}
	return out
}

// The probe paths the manifests use answer on a real proxy's admin
// listener: /healthz at once, /readyz once ready.
func TestProbePathsAnswerOnARealProxy(t *testing.T) {
	px := startProxy(t, "")
	for _, v := range variants {
		p := resolvePod(t, v)
		for _, pr := range []*corev1.Probe{p.proxy.StartupProbe, p.proxy.LivenessProbe, p.proxy.ReadinessProbe} {
			if pr == nil || pr.HTTPGet == nil {
				t.Fatalf("%s: a probe without httpGet", v)
			}
			if code, body := httpGet(t, "http://"+px.AdminAddr()+pr.HTTPGet.Path); code != 200 {
				t.Errorf("%s: GET %s on the admin listener = %d %s", v, pr.HTTPGet.Path, code, body)
			}
		}
	}
}
