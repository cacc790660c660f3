package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// object is one decoded manifest document and where it came from.
type object struct {
	file string
	gvk  schema.GroupVersionKind
	obj  runtime.Object
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// documentSeparator is YAML's "---" on a line of its own.
func documents(raw []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(raw), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(b, nil)
}

// decodeStrict reads one document into the Go type of its apiVersion and
// kind with the API server's own strict decoder (what kubectl apply
// --validate=strict gets): a kind the scheme does not know, a field the
// type does not have (names are case-sensitive) or a field given twice is
// an error.
func decodeStrict(s *runtime.Scheme, doc []byte) (schema.GroupVersionKind, runtime.Object, error) {
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
	obj, gvk, err := dec.Decode(doc, nil, nil)
	if gvk == nil {
		gvk = &schema.GroupVersionKind{}
	}
	if err != nil {
		return *gvk, nil, fmt.Errorf("%s: %w", gvk, err)
	}
	return *gvk, obj, nil
}

// loadVariant decodes every manifest of deploy/kubernetes/<variant>.
func loadVariant(t *testing.T, variant string) []object {
	t.Helper()
	s := scheme(t)
	files, err := filepath.Glob(filepath.Join("kubernetes", variant, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in kubernetes/%s (%v)", variant, err)
	}
	slices.Sort(files)
	var out []object
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(raw) {
			gvk, obj, err := decodeStrict(s, doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			out = append(out, object{file: f, gvk: gvk, obj: obj})
		}
	}
	return out
}

// only returns the one object of type T, failing when there is not exactly
// one.
func only[T runtime.Object](t *testing.T, objs []object) T {
	t.Helper()
	all := every[T](objs)
	if len(all) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(all))
	}
	return all[0]
}

func every[T runtime.Object](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
