# QEMU helpers for Firmvisor scripts. Source it after common.sh:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/qemu.sh"
#
# Provides:
#   qemu_packages        Debian packages a boot needs (QEMU, OpenSBI, U-Boot)
#   dram_base            the start of DRAM on QEMU virt, where -bios goes (0x80000000)
#   payload_base         where QEMU places the payload after a small -bios (0x80200000)
#   monitor_firmware_args FILE OPTIONS RATE
#                        the QEMU arguments that stage FILE (the firmware, as
#                        it would be given to -bios) and the boot options for
#                        the monitor in the second flash bank (0x22000000)
#   is_elf FILE          true when FILE starts with the ELF magic
#   aia_modes            the interrupt controllers of QEMU virt: none (PLIC),
#                        aplic (APLIC, direct delivery), aplic-imsic (APLIC
#                        forwarding MSIs to the IMSICs)
#   check_aia MODE       die unless MODE is one of aia_modes
#   virt_machine MODE    the -M value for QEMU virt with MODE: virt or
#                        virt,aia=MODE

if [[ -n "${FIRMVISOR_QEMU_SH:-}" ]]; then
    return 0
fi
FIRMVISOR_QEMU_SH=1

qemu_packages=(qemu-system-misc opensbi u-boot-qemu)
dram_base=$((0x80000000))
payload_base=$((0x80200000))

# read_le FILE OFFSET SIZE: the little-endian unsigned integer (SIZE 1, 2, 4
# or 8 bytes) at OFFSET, in decimal. 64-bit values above 2^63 wrap to
# negative numbers in bash arithmetic; addresses in DRAM never get there.
read_le() {
    local file="$1" offset="$2" size="$3"
    od -An -v -t "u$size" -j "$offset" -N "$size" --endian=little "$file" | tr -d ' \n'
}

aia_modes=(none aplic aplic-imsic)

check_aia() {
    case "$1" in
        none|aplic|aplic-imsic) ;;
        *) die "--aia must be none, aplic or aplic-imsic (got '$1')" ;;
    esac
}

virt_machine() {
    case "$1" in
        none) echo virt ;;
        *)    echo "virt,aia=$1" ;;
    esac
}

is_elf() {
    [[ -f "$1" ]] && [[ "$(od -An -c -N 4 "$1" | tr -d ' \n')" == '177ELF' ]]
}

# The monitor reads a boot descriptor and the firmware file from the second
# bank of QEMU virt's CFI flash, where QEMU's generic loader stages them, and
# places the firmware exactly as -bios would (Sources/Platform/BootDescriptor.swift,
# FirmwareImage.swift). The descriptor (32 bytes: magic "FVBOOT\0\1", firmware
# offset, firmware size, option bits, trace rate; little-endian) is a small
# file under out/boot named by its content. A comma in a path must be doubled
# for QEMU's option parser.
staging_bank=$((0x22000000))
staging_offset=$((0x1000))
staging_limit=$((32 << 20))

le_bytes() {   # le_bytes VALUE WIDTH: printf escapes of VALUE, little-endian
    local value="$1" width="$2" i out=""
    for ((i = 0; i < width; i++)); do
        out+="$(printf '\\x%02x' $(( (value >> (8 * i)) & 0xff )))"
    done
    printf '%s' "$out"
}

monitor_firmware_args() {
    local file="$1" options="$2" rate="$3" size descriptor
    size="$(stat -L -c %s "$file")"
    (( size > 0 && size <= staging_limit - staging_offset )) \
        || die "$file: $size bytes; a firmware must be 1 byte to $((staging_limit - staging_offset)) bytes"
    mkdir -p "$repo_root/out/boot"
    descriptor="$repo_root/out/boot/descriptor-$size-$options-$rate.bin"
    if [[ ! -f "$descriptor" ]]; then
        printf "FVBOOT\\x00\\x01$(le_bytes "$staging_offset" 8)$(le_bytes "$size" 8)$(le_bytes "$options" 4)$(le_bytes "$rate" 4)" \
            > "$descriptor.$$" && mv "$descriptor.$$" "$descriptor"
    fi
    printf '%s\n' -device "loader,file=${descriptor//,/,,},addr=$(printf '0x%x' "$staging_bank"),force-raw=on"
    printf '%s\n' -device "loader,file=${file//,/,,},addr=$(printf '0x%x' $((staging_bank + staging_offset))),force-raw=on"
}
