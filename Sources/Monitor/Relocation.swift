#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Called by start.S on the cold-boot hart at the load address (the reset
/// address), on the boot stack, before anything else runs: decides where
/// the monitor goes (``MonitorPlacement``), moves the device tree if the
/// region covers it, takes the region out of the `memory` node and marks the
/// harts the monitor does not run as unavailable, and records all of it in
/// `firmvisor_plan`, which travels with the copy. Returns the region's base;
/// start.S copies the image there.
///
/// Runs unmoved: it touches no Swift global (they are copied, and cleared,
/// with the image).
@_cdecl("firmvisor_plan_relocation")
@_optimize(size)
func firmvisorPlanRelocation(fdt: UInt64, hartid: UInt64) -> UInt64 {
    guard let base = UnsafeRawPointer(bitPattern: UInt(fdt)), let tree = DeviceTree(base: base),
          let platform = PlatformDescription(deviceTree: tree) else {
        bootFailure(uart: 0x1000_0000, test: 0x10_0000, "no usable device tree at a1 = ", value: fdt)
    }
    let harts = min(platform.harts, Int(FIRMVISOR_MAX_HARTS))
    let start = firmvisor_monitor_start()
    let loaded = PlatformDescription.Region(base: start, size: firmvisor_load_end() - start)
    let size = UInt64(tree.totalSize)
    let placement: MonitorPlacement
    switch MonitorPlacement.plan(memory: platform.memory, imageSize: firmvisor_monitor_end() - start, harts: harts,
                                 hartBlock: UInt64(FIRMVISOR_HART_BLOCK),
                                 deviceTree: PlatformDescription.Region(base: fdt, size: size),
                                 initrd: platform.initrd, loaded: loaded) {
    case .success(let p): placement = p
    case .failure(.deviceTreeCollides):
        bootFailure(uart: platform.uart.base, test: platform.testDevice.base,
                    "no room for the device tree below the monitor's region: the initrd is there, at ",
                    value: platform.initrd.base)
    case .failure:
        bootFailure(uart: platform.uart.base, test: platform.testDevice.base,
                    "DRAM too small for the monitor's region above its load image; memory size ",
                    value: platform.memory.size)
    }
    if placement.deviceTree != fdt {
        // The new place is below the old one: a forward copy is safe.
        let from = UnsafeRawPointer(bitPattern: UInt(fdt))!
        let to = UnsafeMutableRawPointer(bitPattern: UInt(placement.deviceTree))!
        for i in 0..<Int(size) { to.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
    }
    let blob = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(placement.deviceTree)),
                                             count: Int(size))
    _ = DeviceTreeEdits.setMemorySize(in: blob, base: platform.memory.base,
                                      size: placement.region.base - platform.memory.base)
    let disabled = DeviceTreeEdits.disableHarts(in: blob, atOrAbove: harts)
    firmvisor_boot_plan_storage().pointee = firmvisor_boot_plan(
        region_base: placement.region.base, region_size: placement.region.size, fdt: placement.deviceTree,
        harts: UInt64(harts), cpus: UInt64(platform.harts), load_base: start, load_end: loaded.base + loaded.size,
        unmarked: UInt64(disabled.unmarked), original_fdt: fdt,
        cold_hart: hartid < UInt64(harts) ? hartid : 0)
    cpu_fence()
    return placement.region.base
}

/// Prints `message` and `value` and ends the machine through the test
/// device (QEMU exits with status 1): the monitor cannot start.
func bootFailure(uart: UInt64, test: UInt64, _ message: StaticString, value: UInt64) -> Never {
    var console = MonitorConsole(base: uart)
    console.write("[firmvisor] cannot start: ")
    console.write(message)
    console.write(hex: value)
    console.write("\n")
    if test != 0 { mmio_write32(UInt(test), 0x3333 | 1 << 16) }
    while true { cpu_wfi() }
}

/// The cold-boot hart, moved, once every hart has left the load address:
/// reads the ``BootDescriptor`` `scripts/run` staged in the flash, then
/// places the firmware exactly where QEMU's `-bios` would
/// (``FirmwareImage``) and clears what is left of the load image, so the
/// firmware finds fresh memory.
@_optimize(size)
func placeFirmware(platform: PlatformDescription, plan: firmvisor_boot_plan) -> (FirmwareImage, BootDescriptor) {
    let uart = platform.uart.base
    let test = platform.testDevice.base
    let flash = platform.stagingFlash
    guard flash.size > 0, let start = UnsafeRawPointer(bitPattern: UInt(flash.base)),
          let descriptor = BootDescriptor(bank: UnsafeRawBufferPointer(start: start, count: Int(flash.size))) else {
        bootFailure(uart: uart, test: test,
                    "no firmware staged in the second flash bank (give it with scripts/run --firmware FILE); bank at ",
                    value: flash.base)
    }
    let file = UnsafeRawBufferPointer(start: start + Int(descriptor.firmwareOffset), count: Int(descriptor.firmwareSize))
    let headerSize = min(file.count, FirmwareImage.headerBytes)
    let image: FirmwareImage
    switch FirmwareImage.parse(header: UnsafeRawBufferPointer(rebasing: file[0..<headerSize]),
                               fileSize: descriptor.firmwareSize, dramBase: platform.memory.base) {
    case .success(let parsed): image = parsed
    case .failure(.unsupportedELF):
        bootFailure(uart: uart, test: test, "the firmware is an ELF but not 64-bit little-endian RISC-V; size ", value: descriptor.firmwareSize)
    case .failure(.outsideMemory), .failure(.malformedSegment), .failure(.programHeadersOutOfReach):
        bootFailure(uart: uart, test: test, "the firmware ELF is malformed (segments or program headers); size ", value: descriptor.firmwareSize)
    case .failure(.tooManySegments):
        bootFailure(uart: uart, test: test, "the firmware ELF has more loadable segments than ", value: UInt64(FirmwareImage.maximumSegments))
    case .failure(.overlappingSegments):
        bootFailure(uart: uart, test: test, "the firmware ELF has overlapping segments; size ", value: descriptor.firmwareSize)
    case .failure(.empty):
        bootFailure(uart: uart, test: test, "the firmware file has nothing to load; size ", value: descriptor.firmwareSize)
    }
    // The firmware may occupy what is left of DRAM (the region is no longer
    // memory), clear of the device tree and the initrd QEMU placed.
    let treeSize = DeviceTree(base: UnsafeRawPointer(bitPattern: UInt(plan.fdt))!)?.totalSize ?? 0
    let tree = PlatformDescription.Region(base: plan.fdt, size: UInt64(treeSize))
    let region = PlatformDescription.Region(base: plan.region_base, size: plan.region_size)
    if case .outsideMemory(let segment)? = image.check(memory: platform.memory, reserved: (tree, platform.initrd, region)) {
        bootFailure(uart: uart, test: test, "a firmware segment lies outside free DRAM (or on the device tree or initrd) at ",
                    value: segment.address)
    }
    // What is left of the monitor's load image must read as fresh memory;
    // the part the firmware's file bytes overwrite anyway needs no clearing
    // (fw_dynamic.elf covers all of it: 72 KiB fewer stores at every boot).
    var cleared = plan.load_base
    var extended = true
    while extended {
        extended = false
        for i in 0..<image.segmentCount {
            let s = image.segments[i]
            if s.address <= cleared && cleared < s.address &+ s.fileSize {
                cleared = s.address &+ s.fileSize
                extended = true
            }
        }
    }
    zero(from: cleared, to: plan.load_end)
    for i in 0..<image.segmentCount {
        let segment = image.segments[i]
        let to = UnsafeMutableRawPointer(bitPattern: UInt(segment.address))!
        // CShim's memcpy: 8 bytes per load/store pair when both ends allow.
        to.copyMemory(from: file.baseAddress! + Int(segment.fileOffset), byteCount: Int(segment.fileSize))
        zero(from: segment.address + segment.fileSize, to: segment.address + segment.memorySize)
    }
    cpu_fence()
    return (image, descriptor)
}

/// Clears `[from, to)` (CShim's memset: 8-byte stores).
func zero(from: UInt64, to: UInt64) {
    guard to > from, let start = UnsafeMutableRawPointer(bitPattern: UInt(from)) else { return }
    start.initializeMemory(as: UInt8.self, repeating: 0, count: Int(to - from))
}

/// Waits (at most 30 seconds of `mtime`: QEMU starts dozens of harts
/// slowly on a small host) until every hart the device tree lists has
/// reached the moved copy, so none still runs at the load address when the
/// firmware goes there. Returns how many arrived.
func awaitHarts(expected: UInt64, clint: PlatformDescription.Region, timebase: UInt64) -> UInt64 {
    let mtime = UInt(clint.base + 0xBFF8)
    let deadline = mmio_read64(mtime) &+ 30 &* max(timebase, 1)
    while true {
        cpu_fence()
        let arrived = firmvisor_harts_arrived()
        if arrived >= expected || mmio_read64(mtime) > deadline { return arrived }
        cpu_pause()
    }
}
#endif
