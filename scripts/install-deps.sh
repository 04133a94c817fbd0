#!/usr/bin/env bash
# Installs the Debian packages golem's builds and tests need. Idempotent: packages
# already present are left alone, and apt is not touched when nothing is missing.
#   libopenblas-dev  the OpenBLAS backend (-tags openblas)
#   cmake            builds the CUDA kernel library in csrc/ (-tags cuda)
# With --cuda (what CI and `make build-cuda` need; several GB, so not by default):
#   nvidia-cuda-toolkit, g++-11
#                    nvcc and cuBLAS for that library (Debian's toolkit, from the
#                    non-free component, which is enabled first); its nvcc wrapper
#                    picks g++-11 as the host compiler (nvcc 11.8 refuses newer GCCs)
set -euo pipefail

packages=(libopenblas-dev cmake)
cuda=false
for arg in "$@"; do
	case "$arg" in
	--cuda) cuda=true ;;
	*)
		echo "install-deps: unknown argument $arg (usage: install-deps.sh [--cuda])" >&2
		exit 2
		;;
	esac
done
if $cuda; then
	packages+=(nvidia-cuda-toolkit g++-11)
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# nvidia-cuda-toolkit lives in Debian's contrib/non-free components: add them to the
# Components lines of the deb822 sources once (the apt update below then sees them).
sources=/etc/apt/sources.list.d/debian.sources
if $cuda && ! dpkg-query -W -f='${Status}' nvidia-cuda-toolkit 2>/dev/null | grep -q "install ok installed" &&
	[ -f "$sources" ] && grep -q '^Components:' "$sources" && grep '^Components:' "$sources" | grep -qv 'non-free'; then
	echo "install-deps: enabling contrib non-free non-free-firmware in $sources" >&2
	$sudo sed -i -E '/^Components:/{/non-free/!s/$/ contrib non-free non-free-firmware/}' "$sources"
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} > 0)); then
	echo "install-deps: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all of ${packages[*]} already installed" >&2
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: Go 1.26 or newer is required (https://go.dev/dl/); Debian's golang package is too old" >&2
	exit 1
fi
