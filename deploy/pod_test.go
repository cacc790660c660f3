package deploy

import (
	"bufio"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/config"
)

// proxyPod is a Deployment's pod as the proxy container sees it: its
// configuration file and environment resolved from the manifests' ConfigMaps
// and Secrets, the way the kubelet would.
type proxyPod struct {
	objs   []object
	dep    *appsv1.Deployment
	spec   corev1.PodSpec
	proxy  corev1.Container
	chat   corev1.Container
	config string   // the mounted configuration file, written to a temp dir
	env    []string // NAME=value, the image's ENV first
	empty  []string // variables whose Secret value is left empty in the manifests
}

const (
	proxyContainer = "connector-proxy"
	chatContainer  = "chat-server"
)

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("the pod has no container %q", name)
	return corev1.Container{}
}

func configMap(t *testing.T, objs []object, name string) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range every[*corev1.ConfigMap](objs) {
		if cm.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %q in the manifests", name)
	return nil
}

func secret(t *testing.T, objs []object, name string) *corev1.Secret {
	t.Helper()
	for _, s := range every[*corev1.Secret](objs) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no Secret %q in the manifests", name)
	return nil
}

// secretData is what a Secret holds, stringData over data, as the API
// server merges them.
func secretData(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}

// volumeFor returns the volume mounted by c at the directory holding file.
func volumeFor(t *testing.T, spec corev1.PodSpec, c corev1.Container, file string) (corev1.Volume, corev1.VolumeMount) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) == path.Dir(file) {
			for _, v := range spec.Volumes {
				if v.Name == m.Name {
					return v, m
				}
			}
			t.Fatalf("volume mount %q names no volume", m.Name)
		}
	}
	t.Fatalf("container %s mounts nothing at %s (for %s)", c.Name, path.Dir(file), file)
	return corev1.Volume{}, corev1.VolumeMount{}
}

// imageEnv is the ENV of the repository's Dockerfile: the container starts
// with it.
func imageEnv(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ENV "); ok {
			env = append(env, strings.Fields(rest)...)
		}
	}
	return env
}

func resolvePod(t *testing.T, variant string) *proxyPod {
	t.Helper()
	objs := loadVariant(t, variant)
	p := &proxyPod{objs: objs, dep: only[*appsv1.Deployment](t, objs)}
	p.spec = p.dep.Spec.Template.Spec
	p.proxy = container(t, p.spec, proxyContainer)
	p.chat = container(t, p.spec, chatContainer)

	// The configuration file: -config's argument, on a ConfigMap volume.
	var cfgPath string
	for i, a := range p.proxy.Args {
		if a == "-config" && i+1 < len(p.proxy.Args) {
			cfgPath = p.proxy.Args[i+1]
		}
	}
	if cfgPath == "" {
		t.Fatalf("the proxy container's args %q give no -config", p.proxy.Args)
	}
	vol, _ := volumeFor(t, p.spec, p.proxy, cfgPath)
	if vol.ConfigMap == nil {
		t.Fatalf("%s is not on a ConfigMap volume", cfgPath)
	}
	body, ok := configMap(t, objs, vol.ConfigMap.Name).Data[path.Base(cfgPath)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", vol.ConfigMap.Name, path.Base(cfgPath))
	}
	p.config = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p.config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	// The environment: the image's, then envFrom, then env.
	p.env = imageEnv(t)
	for _, from := range p.proxy.EnvFrom {
		switch {
		case from.SecretRef != nil:
			for k, v := range secretData(secret(t, objs, from.SecretRef.Name)) {
				p.env = append(p.env, from.Prefix+k+"="+v)
				if v == "" {
					p.empty = append(p.empty, from.Prefix+k)
				}
			}
		case from.ConfigMapRef != nil:
			for k, v := range configMap(t, objs, from.ConfigMapRef.Name).Data {
				p.env = append(p.env, from.Prefix+k+"="+v)
			}
		}
	}
	for _, e := range p.proxy.Env {
		v := e.Value
		if e.ValueFrom != nil {
			switch {
			case e.ValueFrom.SecretKeyRef != nil:
				v = secretData(secret(t, objs, e.ValueFrom.SecretKeyRef.Name))[e.ValueFrom.SecretKeyRef.Key]
			case e.ValueFrom.ConfigMapKeyRef != nil:
				v = configMap(t, objs, e.ValueFrom.ConfigMapKeyRef.Name).Data[e.ValueFrom.ConfigMapKeyRef.Key]
			case e.ValueFrom.FieldRef != nil:
				v = "from-" + e.ValueFrom.FieldRef.FieldPath
			}
		}
		p.env = append(p.env, e.Name+"="+v)
	}
	return p
}

// filled is the environment with every empty secret given a value, as an
// operator does before applying the manifests.
func (p *proxyPod) filled(t *testing.T) []string {
	t.Helper()
	env := append([]string(nil), p.env...)
	for _, name := range p.empty {
		v := "filled-" + strings.ToLower(name)
		if strings.HasSuffix(name, "_WEBHOOK_TOKEN") {
			tok, err := engagement.NewWebhookToken()
			if err != nil {
				t.Fatal(err)
			}
			v = tok
		}
		env = append(env, name+"="+v) // the later one wins, as in Load
	}
	return env
}

// loaded is the configuration the proxy container starts with once the
// secrets are filled: it must load, and no variable may be ignored.
func (p *proxyPod) loaded(t *testing.T) *config.Config {
	t.Helper()
	cfg, ignored, err := config.Read(p.config, p.filled(t))
	if err != nil {
		t.Fatalf("the pod's configuration does not load: %v", err)
	}
	if len(ignored) > 0 {
		t.Fatalf("variables the proxy does not know (it would ignore them): %v", ignored)
	}
	return cfg
}

// containerPort resolves a probe's or a Service's port (a number or a
// name) against c's ports.
func containerPort(t *testing.T, c corev1.Container, port intstr.IntOrString) int32 {
	t.Helper()
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, port.StrVal)
	return 0
}

func namedPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	return containerPort(t, c, intstr.FromString(name))
}

// listenPort is the port of a listen address such as ":9090".
func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// configRead is config.Read, for the tests that expect it to fail.
func configRead(path string, env []string) (*config.Config, []string, error) {
	return config.Read(path, env)
}
