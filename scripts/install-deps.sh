#!/usr/bin/env bash
# Installs the Debian packages golem's builds and tests need. Idempotent: packages
# already present are left alone, and apt is not touched when nothing is missing.
#   libopenblas-dev  the OpenBLAS backend (-tags openblas)
#   cmake            builds the CUDA kernel library in csrc/ (-tags cuda)
set -euo pipefail

packages=(libopenblas-dev cmake)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} > 0)); then
	echo "install-deps: installing ${missing[*]}" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all of ${packages[*]} already installed" >&2
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: Go 1.26 or newer is required (https://go.dev/dl/); Debian's golang package is too old" >&2
	exit 1
fi
