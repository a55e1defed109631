# QEMU helpers for Firmvisor scripts. Source it after common.sh:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/qemu.sh"
#
# Provides:
#   qemu_packages        Debian packages a boot needs (QEMU, OpenSBI, U-Boot)
#   firmware_base        where the deprivileged firmware is loaded (0x80100000)
#   payload_base         where the payload starts (0x80200000)
#   is_elf FILE          true when FILE starts with the ELF magic
#   elf_check_firmware FILE LIMIT
#                        dies unless FILE is an ELF64 little-endian RISC-V image
#                        whose entry is firmware_base and whose PT_LOAD
#                        segments lie in [firmware_base, LIMIT)
#   bin_check_firmware FILE LIMIT
#                        dies unless a raw binary loaded at firmware_base ends
#                        below LIMIT

if [[ -n "${FIRMVISOR_QEMU_SH:-}" ]]; then
    return 0
fi
FIRMVISOR_QEMU_SH=1

qemu_packages=(qemu-system-misc opensbi u-boot-qemu)
firmware_base=$((0x80100000))
payload_base=$((0x80200000))

# read_le FILE OFFSET SIZE: the little-endian unsigned integer (SIZE 1, 2, 4
# or 8 bytes) at OFFSET, in decimal. 64-bit values above 2^63 wrap to
# negative numbers in bash arithmetic; addresses in DRAM never get there.
read_le() {
    local file="$1" offset="$2" size="$3"
    od -An -v -t "u$size" -j "$offset" -N "$size" --endian=little "$file" | tr -d ' \n'
}

is_elf() {
    [[ -f "$1" ]] && [[ "$(od -An -c -N 4 "$1" | tr -d ' \n')" == '177ELF' ]]
}

elf_check_firmware() {
    local file="$1" limit="$2"
    local class data machine entry phoff phentsize phnum
    class="$(read_le "$file" 4 1)"
    data="$(read_le "$file" 5 1)"
    machine="$(read_le "$file" 18 2)"
    [[ "$class" == 2 && "$data" == 1 ]] || die "$file: not a 64-bit little-endian ELF"
    [[ "$machine" == 243 ]] || die "$file: not a RISC-V ELF (e_machine $machine)"
    entry="$(read_le "$file" 24 8)"
    phoff="$(read_le "$file" 32 8)"
    phentsize="$(read_le "$file" 54 2)"
    phnum="$(read_le "$file" 56 2)"
    if (( entry != firmware_base )); then
        die "$(printf '%s: entry point 0x%x, but the monitor enters the firmware at 0x%x: link it at 0x%x (or pass a position-independent raw binary, e.g. fw_dynamic.bin)' \
            "$file" "$entry" "$firmware_base" "$firmware_base")"
    fi
    local i base type paddr memsz loaded=0
    for ((i = 0; i < phnum; i++)); do
        base=$((phoff + i * phentsize))
        type="$(read_le "$file" "$base" 4)"
        (( type == 1 )) || continue                    # PT_LOAD only
        paddr="$(read_le "$file" $((base + 24)) 8)"
        memsz="$(read_le "$file" $((base + 40)) 8)"
        (( memsz > 0 )) || continue
        loaded=1
        if (( paddr < firmware_base || paddr + memsz > limit )); then
            die "$(printf '%s: segment 0x%x..0x%x lies outside the firmware window 0x%x..0x%x (the monitor owns 0x80000000..0x800fffff, the payload starts at 0x%x)' \
                "$file" "$paddr" $((paddr + memsz)) "$firmware_base" "$limit" "$payload_base")"
        fi
    done
    (( loaded )) || die "$file: no loadable segment"
}

bin_check_firmware() {
    local file="$1" limit="$2" size
    size="$(stat -c %s "$file")"
    if (( firmware_base + size > limit )); then
        die "$(printf '%s: %d bytes at 0x%x end at 0x%x, beyond the firmware window (limit 0x%x)' \
            "$file" "$size" "$firmware_base" $((firmware_base + size)) "$limit")"
    fi
}
