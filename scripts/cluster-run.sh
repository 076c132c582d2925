# scripts/cluster up/down: sourced by scripts/cluster.  Everything the
# cluster keeps lives in DIR; what it must create outside DIR (an address on
# lo, the CNI bridge, the pods' network namespaces, mounts under the kubelet's
# root, /var/log/pods) is recorded in DIR so that `down` removes exactly that.

# free_port: a TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME CMD...: run CMD in the background, output to DIR/log/NAME.log,
# its pid in DIR/pids (one "name pid" line each).
start() {
	local name=$1
	shift
	mkdir -p "$D/cmd"
	printf '%q ' "$@" >"$D/cmd/$name"
	setsid "$@" >>"$D/log/$name.log" 2>&1 </dev/null &
	echo "$name $!" >>"$D/pids"
}

# scripts/cluster restart NAME DIR: stop one component by its pid and start
# it again with the same command line (the e2e tests restart the API
# server this way).
cmd_restart() {
	local name=$1 pid
	D=$(cd "$2" && pwd)
	[ -f "$D/cmd/$name" ] || die "no component $name in $D"
	pid=$(awk -v n="$name" '$1 == n { p = $2 } END { print p }' "$D/pids")
	[ -z "$pid" ] || kill_pid "$pid"
	local -a argv
	eval "argv=($(cat "$D/cmd/$name"))"
	start "$name" "${argv[@]}"
	log "restarted $name"
}

# wait_for WHAT SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	log "timed out waiting for $what; logs in $D/log"
	return 1
}

mkcert() {	# mkcert NAME SUBJ [SAN]: a key and a cert signed by DIR/pki/ca
	local n=$1 subj=$2 san=${3:-}
	openssl genrsa -out "$D/pki/$n.key" 2048 2>/dev/null
	openssl req -new -key "$D/pki/$n.key" -subj "$subj" \
	    -out "$D/pki/$n.csr" 2>/dev/null
	if [ -n "$san" ]; then
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
		    "$san" >"$D/pki/$n.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$D/pki/$n.ext"
	fi
	openssl x509 -req -in "$D/pki/$n.csr" -CA "$D/pki/ca.crt" \
	    -CAkey "$D/pki/ca.key" -CAcreateserial -days 30 \
	    -extfile "$D/pki/$n.ext" -out "$D/pki/$n.crt" 2>/dev/null
}

kubeconfig() {	# kubeconfig FILE TOKEN
	cat >"$1" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: e2e
	  cluster:
	    server: $API
	    certificate-authority: $D/pki/ca.crt
	users:
	- name: u
	  user:
	    token: $2
	contexts:
	- name: e2e
	  context: {cluster: e2e, user: u}
	current-context: e2e
	EOF
}

token() { openssl rand -hex 16; }

cmd_up() {
	install_deps
	cmd_check >/dev/null || die "$(cmd_check)"
	resolve_bin || die "no kubernetes binaries in $CACHE: run scripts/cluster build"
	D=$1
	[ ! -e "$D/pids" ] || die "$D/pids exists: a cluster runs there (scripts/cluster down $D)"
	mkdir -p "$D"
	D=$(cd "$D" && pwd)
	mkdir -p "$D/pki" "$D/log" "$D/etcd" "$D/cni" "$D/certs.d/docker.io" \
	    "$D/registry" "$D/kubelet" "$D/containerd"
	: >"$D/pids"
	local t0=$SECONDS

	# --- what is created outside DIR, recorded for `down` ---
	ip netns list 2>/dev/null | awk '{print $1}' | sort >"$D/netns.before"
	if ! ip addr show dev lo | grep -q " $NODE_IP/"; then
		ip addr add "$NODE_IP/32" dev lo
		echo "lo-addr" >>"$D/created"
	fi

	# --- certificates and tokens ---
	openssl genrsa -out "$D/pki/ca.key" 2048 2>/dev/null
	openssl req -x509 -new -key "$D/pki/ca.key" -subj "/CN=remedy-e2e-ca" \
	    -days 30 -out "$D/pki/ca.crt" 2>/dev/null
	mkcert apiserver "/CN=kube-apiserver" \
	    "IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	mkcert apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client"
	mkcert kubelet "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
	openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null
	local t_admin t_cm t_sched t_node t_remedy
	t_admin=$(token) t_cm=$(token) t_sched=$(token) t_node=$(token) t_remedy=$(token)
	cat >"$D/tokens.csv" <<-EOF
	$t_admin,admin,admin,"system:masters"
	$t_cm,system:kube-controller-manager,cm,"system:masters"
	$t_sched,system:kube-scheduler,sched,"system:masters"
	$t_node,system:node:$NODE_NAME,node,"system:nodes"
	$t_remedy,remedy,remedy-uid,"remedy-operators"
	$(token),restricted,restricted-uid,"remedy-nobody"
	EOF
	chmod 600 "$D/tokens.csv"

	# --- etcd ---
	local etcd_port etcd_peer api_port cm_port sched_port reg_port
	etcd_port=$(free_port) etcd_peer=$(free_port) api_port=$(free_port)
	cm_port=$(free_port) sched_port=$(free_port) reg_port=$(free_port)
	API="https://127.0.0.1:$api_port"
	start etcd etcd --name e2e --data-dir "$D/etcd" \
	    --listen-client-urls "http://127.0.0.1:$etcd_port" \
	    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
	    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer" \
	    --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) \
	    --snapshot-count=100000
	wait_for etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

	# --- the API server, with its audit log ---
	cat >"$D/audit-policy.yaml" <<-EOF
	apiVersion: audit.k8s.io/v1
	kind: Policy
	omitStages: ["RequestReceived"]
	rules:
	- level: Request
	  verbs: ["create", "update", "patch", "delete", "deletecollection"]
	- level: Metadata
	EOF
	start apiserver "$BIN/kube-apiserver" \
	    --etcd-servers "http://127.0.0.1:$etcd_port" \
	    --bind-address=127.0.0.1 --secure-port "$api_port" --insecure-port=0 \
	    --advertise-address="$NODE_IP" \
	    --tls-cert-file "$D/pki/apiserver.crt" \
	    --tls-private-key-file "$D/pki/apiserver.key" \
	    --client-ca-file "$D/pki/ca.crt" \
	    --token-auth-file "$D/tokens.csv" \
	    --authorization-mode=Node,RBAC \
	    --service-account-key-file "$D/pki/sa.pub" \
	    --service-account-signing-key-file "$D/pki/sa.key" \
	    --service-account-issuer https://kubernetes.default.svc \
	    --service-cluster-ip-range=10.96.0.0/12 \
	    --disable-admission-plugins=ServiceAccount \
	    --endpoint-reconciler-type=none \
	    --kubelet-preferred-address-types=InternalIP \
	    --kubelet-client-certificate "$D/pki/apiserver-kubelet.crt" \
	    --kubelet-client-key "$D/pki/apiserver-kubelet.key" \
	    --kubelet-certificate-authority "$D/pki/ca.crt" \
	    --audit-policy-file "$D/audit-policy.yaml" \
	    --audit-log-path "$D/audit.log" --audit-log-maxsize 0 \
	    --profiling=false
	kubeconfig "$D/admin.kubeconfig" "$t_admin"
	kubeconfig "$D/cm.kubeconfig" "$t_cm"
	kubeconfig "$D/sched.kubeconfig" "$t_sched"
	kubeconfig "$D/kubelet.kubeconfig" "$t_node"
	kubeconfig "$D/remedy.kubeconfig" "$t_remedy"
	local k=("$BIN/kubectl" --kubeconfig "$D/admin.kubeconfig")
	wait_for kube-apiserver 60 "${k[@]}" get --raw /readyz

	start controller-manager "$BIN/kube-controller-manager" \
	    --kubeconfig "$D/cm.kubeconfig" \
	    --authentication-kubeconfig "$D/cm.kubeconfig" \
	    --authorization-kubeconfig "$D/cm.kubeconfig" \
	    --controllers='*' --use-service-account-credentials=false \
	    --service-account-private-key-file "$D/pki/sa.key" \
	    --root-ca-file "$D/pki/ca.crt" \
	    --cluster-signing-cert-file "$D/pki/ca.crt" \
	    --cluster-signing-key-file "$D/pki/ca.key" \
	    --leader-elect=false --port=0 --secure-port "$cm_port" \
	    --bind-address=127.0.0.1 --node-monitor-grace-period=20s
	start scheduler "$BIN/kube-scheduler" \
	    --kubeconfig "$D/sched.kubeconfig" \
	    --authentication-kubeconfig "$D/sched.kubeconfig" \
	    --authorization-kubeconfig "$D/sched.kubeconfig" \
	    --leader-elect=false --port=0 --secure-port "$sched_port" \
	    --bind-address=127.0.0.1

	# --- the registry, the docker.io mirror for containerd ---
	cat >"$D/registry.yaml" <<-EOF
	version: 0.1
	log: { level: warn }
	storage:
	  filesystem: { rootdirectory: $D/registry }
	  delete: { enabled: true }
	http:
	  addr: 127.0.0.1:$reg_port
	EOF
	start registry docker-registry serve "$D/registry.yaml"
	REGISTRY="127.0.0.1:$reg_port"
	wait_for registry 30 curl -sf "http://$REGISTRY/v2/"
	# docker.io is this registry and nothing else: a missing tag fails
	# with the registry's "not found", and nothing is asked of any other
	# host (containerd falls back to `server` after the mirrors).
	cat >"$D/certs.d/docker.io/hosts.toml" <<-EOF
	server = "http://$REGISTRY"
	[host."http://$REGISTRY"]
	  capabilities = ["pull", "resolve"]
	EOF
	log "building and pushing the test images"
	"$top/tests/images/mkimages" "$D/images" "$REGISTRY" >"$D/log/images.log" 2>&1 ||
	    { cat "$D/log/images.log" >&2; die "building the test images failed"; }

	# --- containerd and the CNI bridge ---
	local snap=overlayfs
	mkdir -p "$D/ovl/l" "$D/ovl/u" "$D/ovl/w" "$D/ovl/m"
	if mount -t overlay overlay -o "lowerdir=$D/ovl/l,upperdir=$D/ovl/u,workdir=$D/ovl/w" "$D/ovl/m" 2>/dev/null; then
		umount "$D/ovl/m"
	else
		snap=native
	fi
	rm -rf "$D/ovl"
	cat >"$D/cni/10-remedy.conflist" <<-EOF
	{ "cniVersion": "0.4.0", "name": "remedy-e2e", "plugins": [
	  { "type": "bridge", "bridge": "$BRIDGE", "isGateway": true,
	    "ipMasq": false, "hairpinMode": true,
	    "ipam": { "type": "host-local", "dataDir": "$D/cni-ipam",
	      "ranges": [[{ "subnet": "$POD_CIDR" }]],
	      "routes": [{ "dst": "0.0.0.0/0" }] } },
	  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
	EOF
	ip link show "$BRIDGE" >/dev/null 2>&1 || echo "bridge" >>"$D/created"
	cat >"$D/containerd.toml" <<-EOF
	version = 2
	root = "$D/containerd/root"
	state = "$D/containerd/state"
	[grpc]
	  address = "$D/containerd.sock"
	[ttrpc]
	  address = "$D/containerd.sock.ttrpc"
	[debug]
	  address = ""
	[metrics]
	  address = ""
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$D/containerd/opt"
	[plugins."io.containerd.grpc.v1.cri"]
	  sandbox_image = "docker.io/library/pause:3.2"
	  restrict_oom_score_adj = true
	  enable_selinux = false
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "$snap"
	    default_runtime_name = "runc"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
	        SystemdCgroup = false
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$D/cni"
	  [plugins."io.containerd.grpc.v1.cri".registry]
	    config_path = "$D/certs.d"
	EOF
	start containerd containerd --config "$D/containerd.toml"
	wait_for containerd 30 ctr -a "$D/containerd.sock" version

	# --- the kubelet ---
	local kl_health
	kl_health=$(free_port)
	cat >"$D/kubelet.yaml" <<-EOF
	apiVersion: kubelet.config.k8s.io/v1beta1
	kind: KubeletConfiguration
	address: $NODE_IP
	port: 10250
	readOnlyPort: 0
	healthzBindAddress: 127.0.0.1
	healthzPort: $kl_health
	authentication:
	  anonymous: { enabled: false }
	  webhook: { enabled: false }
	  x509: { clientCAFile: $D/pki/ca.crt }
	authorization: { mode: AlwaysAllow }
	tlsCertFile: $D/pki/kubelet.crt
	tlsPrivateKeyFile: $D/pki/kubelet.key
	cgroupDriver: cgroupfs
	failSwapOn: false
	clusterDNS: ["10.96.0.10"]
	clusterDomain: cluster.local
	resolvConf: /etc/resolv.conf
	imageGCHighThresholdPercent: 100
	evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" }
	serializeImagePulls: false
	EOF
	start kubelet "$BIN/kubelet" --container-runtime=remote \
	    --container-runtime-endpoint="unix://$D/containerd.sock" \
	    --config "$D/kubelet.yaml" --kubeconfig "$D/kubelet.kubeconfig" \
	    --root-dir "$D/kubelet" --hostname-override "$NODE_NAME" \
	    --node-ip "$NODE_IP" --v=1
	echo "kubelet-root" >>"$D/created"
	wait_for "node $NODE_NAME Ready" 90 sh -c \
	    "'${k[0]}' --kubeconfig '$D/admin.kubeconfig' get node $NODE_NAME -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
	# The node-lifecycle controller lifts the not-ready taint shortly
	# after Ready; pods cannot be scheduled before.
	wait_for "the node's not-ready taint to go" 60 sh -c \
	    "! '${k[0]}' --kubeconfig '$D/admin.kubeconfig' get node $NODE_NAME -o jsonpath='{.spec.taints}' | grep -q not-ready"
	# The default ServiceAccount (the ServiceAccount admission plugin is
	# off, so pods need none, but the controller makes one per namespace).

	cat >"$D/env" <<-EOF
	KUBECONFIG=$D/admin.kubeconfig
	REMEDY_E2E_API=$API
	REMEDY_E2E_CA=$D/pki/ca.crt
	REMEDY_E2E_REMEDY_TOKEN=$t_remedy
	REMEDY_E2E_REMEDY_KUBECONFIG=$D/remedy.kubeconfig
	REMEDY_E2E_REGISTRY=$REGISTRY
	REMEDY_E2E_AUDIT_LOG=$D/audit.log
	REMEDY_E2E_KUBECTL=$BIN/kubectl
	REMEDY_E2E_ETCD=http://127.0.0.1:$etcd_port
	REMEDY_E2E_NODE=$NODE_NAME
	EOF
	log "up in $((SECONDS - t0)) s: $API, registry $REGISTRY, state in $D"
}

# The pids `up` recorded, newest first.
pids_rev() { [ -f "$D/pids" ] && tac "$D/pids" || true; }

kill_pid() {	# kill_pid PID: TERM, then KILL after 10 s
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -KILL "$p" 2>/dev/null || true
}

cmd_down() {
	D=$1
	[ -d "$D" ] || die "no cluster directory $D"
	D=$(cd "$D" && pwd)
	local name pid sock="$D/containerd.sock"
	# The kubelet first, so that it restarts nothing.
	pid=$(awk '$1 == "kubelet" { print $2 }' "$D/pids" 2>/dev/null || true)
	[ -z "$pid" ] || kill_pid "$pid"
	# The containers: kill and delete every task of this containerd, so its
	# shims exit; then containerd itself.
	if [ -S "$sock" ]; then
		local t
		for t in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
		done
		sleep 1
		for t in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
		done
		for t in $(ctr -a "$sock" -n k8s.io containers ls -q 2>/dev/null); do
			ctr -a "$sock" -n k8s.io containers delete "$t" >/dev/null 2>&1 || true
		done
	fi
	while read -r name pid; do
		[ -n "$pid" ] && [ "$name" != kubelet ] && kill_pid "$pid"
	done < <(pids_rev)
	# Mounts under DIR (the kubelet's volumes, containerd's snapshots and
	# sandboxes' shm), deepest first.
	local m
	for m in $(findmnt -rn -o TARGET | grep "^$D/" | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	# The pods' network namespaces created while the cluster ran.
	if [ -f "$D/netns.before" ]; then
		local ns
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | sort |
		    comm -13 "$D/netns.before" -); do
			case "$ns" in cni-*) ip netns delete "$ns" 2>/dev/null || true ;; esac
		done
	fi
	if [ -f "$D/created" ]; then
		grep -qx bridge "$D/created" && ip link delete "$BRIDGE" 2>/dev/null || true
		grep -qx lo-addr "$D/created" && ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
	fi
	rm -f "$D/pids" "$D/created"
	log "down: $D"
}
