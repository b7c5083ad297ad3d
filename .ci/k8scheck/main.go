// Command k8scheck validates Kubernetes manifests offline, for CI: every document must decode strictly (no
// unknown or duplicate field, every value of its schema's type) into the Kubernetes API type its apiVersion and
// kind name, and the objects of one file must fit together (selectors, named ports, volumes, secrets).
//
// Usage: go run . FILE...
package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// kinds are the API types a manifest of this repository may hold.
var kinds = map[string]func() any{
	"v1/Secret":                          func() any { return new(corev1.Secret) },
	"v1/ConfigMap":                       func() any { return new(corev1.ConfigMap) },
	"v1/Service":                         func() any { return new(corev1.Service) },
	"v1/Namespace":                       func() any { return new(corev1.Namespace) },
	"apps/v1/Deployment":                 func() any { return new(appsv1.Deployment) },
	"networking.k8s.io/v1/NetworkPolicy": func() any { return new(networkingv1.NetworkPolicy) },
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		problems, n := checkFile(file)
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", file, p)
		}
		if len(problems) > 0 {
			failed = true
		} else {
			fmt.Printf("%s: %d objects valid\n", file, n)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func checkFile(file string) (problems []string, objects int) {
	data, err := os.ReadFile(file)
	if err != nil {
		return []string{err.Error()}, 0
	}
	var secrets = map[string]*corev1.Secret{}
	var deployments []*appsv1.Deployment
	var services []*corev1.Service
	for i, doc := range docSep.Split(string(data), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", i+1, err))
			continue
		}
		mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("document %d: unknown apiVersion/kind %q/%q", i+1, tm.APIVersion, tm.Kind))
			continue
		}
		obj := mk()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			problems = append(problems, fmt.Sprintf("document %d (%s): %v", i+1, tm.Kind, err))
			continue
		}
		objects++
		meta := obj.(metav1.Object)
		where := fmt.Sprintf("%s %q", tm.Kind, meta.GetName())
		for _, msg := range validation.IsDNS1123Subdomain(meta.GetName()) {
			problems = append(problems, fmt.Sprintf("%s: metadata.name: %s", where, msg))
		}
		switch o := obj.(type) {
		case *corev1.Secret:
			secrets[o.Name] = o
		case *appsv1.Deployment:
			deployments = append(deployments, o)
		case *corev1.Service:
			services = append(services, o)
		}
	}
	for _, d := range deployments {
		problems = append(problems, checkDeployment(d, secrets)...)
	}
	for _, s := range services {
		problems = append(problems, checkService(s, deployments)...)
	}
	return problems, objects
}

func stripComments(b []byte) []byte {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(b, nil)
}

func checkDeployment(d *appsv1.Deployment, secrets map[string]*corev1.Secret) (problems []string) {
	bad := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf("Deployment %q: ", d.Name)+fmt.Sprintf(format, a...))
	}
	if d.Spec.Selector == nil {
		bad("spec.selector is required")
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		bad("spec.selector: %v", err)
	} else if sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		bad("spec.selector does not select the pod template's labels %v", d.Spec.Template.Labels)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) == 0 {
		bad("no containers")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil && secrets[v.Secret.SecretName] == nil {
			bad("volume %q names Secret %q, which this file does not define", v.Name, v.Secret.SecretName)
		}
	}
	for _, c := range pod.Containers {
		if c.Name == "" || c.Image == "" {
			bad("a container without name or image")
		}
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		for what, pr := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if pr == nil || pr.HTTPGet == nil {
				continue
			}
			if !portKnown(pr.HTTPGet.Port, ports) {
				bad("container %q: %s port %s is not a port of the container", c.Name, what, pr.HTTPGet.Port.String())
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				bad("container %q mounts volume %q, which the pod does not define", c.Name, m.Name)
			}
		}
	}
	return problems
}

func portKnown(p intstr.IntOrString, named map[string]int32) bool {
	if p.Type == intstr.String {
		_, ok := named[p.StrVal]
		return ok
	}
	for _, n := range named {
		if n == p.IntVal {
			return true
		}
	}
	return false
}

func checkService(s *corev1.Service, deployments []*appsv1.Deployment) (problems []string) {
	bad := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf("Service %q: ", s.Name)+fmt.Sprintf(format, a...))
	}
	if len(s.Spec.Selector) == 0 {
		bad("no selector")
		return problems
	}
	for _, d := range deployments {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		for _, sp := range s.Spec.Ports {
			found := false
			for _, c := range d.Spec.Template.Spec.Containers {
				named := map[string]int32{}
				for _, p := range c.Ports {
					named[p.Name] = p.ContainerPort
				}
				found = found || portKnown(sp.TargetPort, named)
			}
			if !found {
				bad("targetPort %s is not a port of Deployment %q", sp.TargetPort.String(), d.Name)
			}
		}
		return problems
	}
	bad("selector %v selects no Deployment of this file", s.Spec.Selector)
	return problems
}
