// Command simkubelet stands in for the kubelets of a few simulated nodes, so that a real API
// server, scheduler and controller manager can run the suite on one machine without
// containers. It registers the nodes, and for each pod scheduled to one of them it gives the
// pod a loopback address of its own (never handed out twice, so a process still draining never
// holds an address another pod needs) and, when the pod's image is one it was told to run,
// starts that program with the pod's environment (values, downward-API fields, Secret and
// ConfigMap keys), its ":port" listen addresses bound to the pod's address. The pod's Ready
// condition follows its readiness probe (HTTP GET on the pod's address). A deleted pod gets
// SIGTERM and its grace period, then SIGKILL, and its object goes only once the process is
// gone, as a kubelet does. Pods of other images run no process and are ready at once; pods of
// an image ending in ":missing" wait with ErrImagePull forever (a rollout that cannot finish).
//
// It is a test harness for deploy/e2e-k8s/run.sh, built by deploy/e2e-k8s/build.sh.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

type runFlags map[string]string

func (r runFlags) String() string { return fmt.Sprint(map[string]string(r)) }
func (r runFlags) Set(v string) error {
	img, path, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want image=path, got %q", v)
	}
	r[img] = path
	return nil
}

type kubelet struct {
	cs     kubernetes.Interface
	nodes  map[string]bool
	run    runFlags
	logDir string
	ctx    context.Context

	mu     sync.Mutex
	pods   map[types.UID]*podRunner
	nextIP int
	wg     sync.WaitGroup
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "admin kubeconfig")
	nodes := flag.Int("nodes", 3, "simulated nodes")
	prefix := flag.String("node-prefix", "sim-", "node name prefix")
	logDir := flag.String("log-dir", os.TempDir(), "where each pod's output goes")
	run := runFlags{}
	flag.Var(run, "run", "image=program: run program for pods of image (repeatable)")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("simkubelet: %v", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	k := &kubelet{cs: cs, nodes: map[string]bool{}, run: run, logDir: *logDir, ctx: ctx, pods: map[types.UID]*podRunner{}}
	for i := range *nodes {
		name := fmt.Sprintf("%s%d", *prefix, i)
		if err := k.register(ctx, name); err != nil {
			log.Fatalf("simkubelet: node %s: %v", name, err)
		}
		k.nodes[name] = true
	}
	f := informers.NewSharedInformerFactory(cs, 0)
	inf := f.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { k.sync(o.(*corev1.Pod), false) },
		UpdateFunc: func(_, o any) { k.sync(o.(*corev1.Pod), false) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				k.sync(p, true)
			}
		},
	})
	f.Start(ctx.Done())
	log.Printf("simkubelet: nodes %v ready, running %v", k.nodes, map[string]string(run))
	<-ctx.Done()
	k.mu.Lock()
	for _, r := range k.pods {
		r.kill()
	}
	k.mu.Unlock()
	k.wg.Wait()
	log.Printf("simkubelet: every pod process is gone")
}

// register creates the node, takes off the not-ready taint the API server puts on a new node
// (no node lifecycle controller runs to do it) and reports it Ready with room for pods.
func (k *kubelet) register(ctx context.Context, name string) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "simkubelet",
	}}}
	if _, err := k.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	patch := `{"spec":{"taints":null}}`
	if _, err := k.cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	now := metav1.Now()
	res := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	st := corev1.NodeStatus{
		Capacity: res, Allocatable: res,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "simkubelet", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "simkubelet", OperatingSystem: "linux", Architecture: "amd64"},
	}
	body, _ := json.Marshal(map[string]any{"status": st})
	_, err := k.cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	return err
}

// allocIP hands out the next loopback address: 127.42.x.y, never the same twice.
func (k *kubelet) allocIP() string {
	k.nextIP++
	n := k.nextIP
	return fmt.Sprintf("127.42.%d.%d", n/250, n%250+2)
}

func (k *kubelet) sync(p *corev1.Pod, deleted bool) {
	if !k.nodes[p.Spec.NodeName] {
		return
	}
	k.mu.Lock()
	r := k.pods[p.UID]
	if r == nil {
		if deleted || p.DeletionTimestamp != nil && p.Status.PodIP == "" {
			k.mu.Unlock()
			if !deleted {
				k.finalize(p)
			}
			return
		}
		r = &podRunner{k: k, pod: p.DeepCopy(), ip: k.allocIP(), term: make(chan int64, 1), gone: make(chan struct{})}
		k.pods[p.UID] = r
		k.wg.Add(1)
		go r.loop()
	}
	k.mu.Unlock()
	switch {
	case deleted:
		r.terminate(0)
	case p.DeletionTimestamp != nil:
		grace := int64(30)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		r.terminate(grace)
	}
}

// finalize removes a pod object whose process is gone, as the kubelet does.
func (k *kubelet) finalize(p *corev1.Pod) {
	zero := int64(0)
	uid := p.UID
	err := k.cs.CoreV1().Pods(p.Namespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		log.Printf("simkubelet: finalizing %s/%s: %v", p.Namespace, p.Name, err)
	}
}

type podRunner struct {
	k    *kubelet
	pod  *corev1.Pod
	ip   string
	term chan int64 // grace period seconds, once
	once sync.Once
	gone chan struct{}

	mu  sync.Mutex
	cmd *exec.Cmd
}

func (r *podRunner) terminate(grace int64) {
	r.once.Do(func() { r.term <- grace })
}

func (r *podRunner) kill() {
	r.terminate(0)
}

func (r *podRunner) loop() {
	defer r.k.wg.Done()
	defer func() {
		r.k.mu.Lock()
		delete(r.k.pods, r.pod.UID)
		r.k.mu.Unlock()
	}()
	p := r.pod
	c := p.Spec.Containers[0]
	ctx := r.k.ctx
	started := metav1.Now()
	program, runs := r.k.run[c.Image]
	if strings.HasSuffix(c.Image, ":missing") {
		r.status(ctx, started, false, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "simkubelet: image " + c.Image + " does not exist"}})
		grace := <-r.term
		_ = grace
		r.k.finalize(p)
		return
	}
	if !runs {
		r.status(ctx, started, true, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}})
		<-r.term
		r.k.finalize(p)
		return
	}
	env, err := r.env(ctx, c)
	if err != nil {
		r.status(ctx, started, false, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}})
		<-r.term
		r.k.finalize(p)
		return
	}
	logf, _ := os.Create(filepath.Join(r.k.logDir, p.Name+".log"))
	cmd := exec.Command(program)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.status(ctx, started, false, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}})
		<-r.term
		r.k.finalize(p)
		return
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	running := &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	r.status(ctx, started, false, running)

	probe := time.NewTicker(500 * time.Millisecond)
	defer probe.Stop()
	ready := false
	for {
		select {
		case grace := <-r.term:
			r.stop(cmd, exited, grace)
			r.k.finalize(p)
			return
		case <-exited:
			code := -1
			if cmd.ProcessState != nil {
				code = cmd.ProcessState.ExitCode()
			}
			r.status(ctx, started, false, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: int32(code)}})
			grace := <-r.term
			_ = grace
			r.k.finalize(p)
			return
		case <-probe.C:
			now := r.ready(c)
			if now != ready {
				ready = now
				r.status(ctx, started, ready, running)
			}
		}
	}
}

// stop sends SIGTERM, waits out the grace period, then SIGKILL; returns once the process is gone.
func (r *podRunner) stop(cmd *exec.Cmd, exited chan struct{}, grace int64) {
	if grace > 0 {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return
		case <-time.After(time.Duration(grace) * time.Second):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (r *podRunner) ready(c corev1.Container) bool {
	pr := c.ReadinessProbe
	if pr == nil || pr.HTTPGet == nil {
		return true
	}
	port := portOf(c, pr.HTTPGet.Port)
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + net.JoinHostPort(r.ip, strconv.Itoa(port)) + pr.HTTPGet.Path)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

func portOf(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// env is the container's environment as the kubelet would give it, with ":port" listen
// addresses bound to the pod's own address.
func (r *podRunner) env(ctx context.Context, c corev1.Container) ([]string, error) {
	p := r.pod
	out := []string{"HOME=/tmp", "PATH=/usr/bin:/bin"}
	for _, e := range c.Env {
		v := e.Value
		if s := e.ValueFrom; s != nil {
			switch {
			case s.FieldRef != nil:
				switch s.FieldRef.FieldPath {
				case "metadata.name":
					v = p.Name
				case "metadata.namespace":
					v = p.Namespace
				case "metadata.uid":
					v = string(p.UID)
				case "spec.nodeName":
					v = p.Spec.NodeName
				case "spec.serviceAccountName":
					v = p.Spec.ServiceAccountName
				case "status.podIP":
					v = r.ip
				default:
					return nil, fmt.Errorf("fieldRef %s not simulated", s.FieldRef.FieldPath)
				}
			case s.SecretKeyRef != nil:
				sec, err := r.k.cs.CoreV1().Secrets(p.Namespace).Get(ctx, s.SecretKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return nil, err
				}
				v = string(sec.Data[s.SecretKeyRef.Key])
			case s.ConfigMapKeyRef != nil:
				cm, err := r.k.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, s.ConfigMapKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return nil, err
				}
				v = cm.Data[s.ConfigMapKeyRef.Key]
			default:
				return nil, errors.New("valueFrom not simulated")
			}
		}
		if strings.HasSuffix(e.Name, "_ADDR") && strings.HasPrefix(v, ":") {
			v = r.ip + v
		}
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

// status reports the pod running on its address, the container in state, Ready as given.
func (r *podRunner) status(ctx context.Context, started metav1.Time, ready bool, state *corev1.ContainerState) {
	p := r.pod
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: metav1.Now()}
	}
	phase := corev1.PodRunning
	if state.Waiting != nil {
		phase = corev1.PodPending
	}
	c := p.Spec.Containers[0]
	st := map[string]any{
		"phase": phase, "hostIP": "127.0.0.1", "hostIPs": []map[string]string{{"ip": "127.0.0.1"}},
		"podIP": r.ip, "podIPs": []map[string]string{{"ip": r.ip}}, "startTime": started,
		"conditions": []corev1.PodCondition{
			cond(corev1.PodScheduled, true), cond(corev1.PodInitialized, true),
			cond(corev1.ContainersReady, ready), cond(corev1.PodReady, ready),
		},
		"containerStatuses": []corev1.ContainerStatus{{
			Name: c.Name, Image: c.Image, ImageID: "simkubelet://" + c.Image, Ready: ready,
			Started: ptr(state.Running != nil), State: *state,
		}},
	}
	body, _ := json.Marshal(map[string]any{"status": st})
	_, err := r.k.cs.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		log.Printf("simkubelet: status of %s/%s: %v", p.Namespace, p.Name, err)
	}
}

func ptr[T any](v T) *T { return &v }
