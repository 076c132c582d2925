# Shared by scripts/test and scripts/demo: install what is missing, build.
# Sourced, not run.

REMEDY_DEB_PACKAGES="build-essential cmake pkg-config python3 openssl curl
ca-certificates libcurl4-openssl-dev libjansson-dev libuv1-dev libyaml-dev
libsqlite3-dev libssl-dev python3-yaml zsh
systemd prometheus
clang libclang-rt-14-dev valgrind
docker-registry skopeo jq busybox-static"

# Install the Debian packages remedy builds and tests with, when any is
# missing.  Needs root (or sudo) only when something must be installed.
remedy_install_deps() {
	local missing="" p
	for p in $REMEDY_DEB_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "==> installing:$missing"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "error: missing packages:$missing (run as root or install them)" >&2
			return 1
		fi
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

# remedy_build DIR [cmake args...]: configure and build into DIR (optimised,
# with debug info, unless the arguments say otherwise).
remedy_build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j "$(nproc)"
}
