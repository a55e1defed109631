# Shared helpers for Firmvisor scripts. Source it, do not execute it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Provides:
#   repo_root        absolute path of the repository
#   opensbi_dir      Debian opensbi's generic platform firmware directory
#   uboot_elf        Debian u-boot-qemu's S-mode U-Boot ELF for QEMU virt
#   swift_bin_dir    directory of the Swift toolchain (clang, ld.lld, llvm-*)
#   die MSG...       print to stderr and exit 1
#   note MSG...      print a progress line to stderr
#   llvm_tool NAME   path of an LLVM tool shipped beside swiftc (llvm-objdump, ...)
#   ensure_packages PKG...
#                    install the Debian packages that are missing
#                    (apt-get update once, then apt-get install -y
#                    --no-install-recommends; sudo only when not root)

if [[ -n "${FIRMVISOR_COMMON_SH:-}" ]]; then
    return 0
fi
FIRMVISOR_COMMON_SH=1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
opensbi_dir=/usr/lib/riscv64-linux-gnu/opensbi/generic
uboot_elf=/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf

die() {
    echo "error: $*" >&2
    exit 1
}

note() {
    echo "==> $*" >&2
}

swift_bin_dir=""
if command -v swiftc >/dev/null 2>&1; then
    swift_bin_dir="$(dirname "$(readlink -f "$(command -v swiftc)")")"
elif [[ -x /opt/swift/usr/bin/swiftc ]]; then
    swift_bin_dir=/opt/swift/usr/bin
fi

llvm_tool() {
    local name="$1"
    if [[ -n "$swift_bin_dir" && -x "$swift_bin_dir/$name" ]]; then
        echo "$swift_bin_dir/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    else
        die "$name not found (expected beside swiftc in ${swift_bin_dir:-<no swift toolchain>})"
    fi
}

_firmvisor_apt_updated=""

ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${missing[*]}"
        sudo=(sudo)
    fi
    note "installing Debian packages: ${missing[*]}"
    if [[ -z "$_firmvisor_apt_updated" ]]; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        _firmvisor_apt_updated=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}
