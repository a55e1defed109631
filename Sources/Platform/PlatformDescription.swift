/// The machine the monitor runs on, as read from the device tree.
public struct PlatformDescription: Sendable, Equatable {
    /// A device's register window.
    public struct Region: Sendable, Equatable {
        public var base: UInt64
        public var size: UInt64
        public init(base: UInt64, size: UInt64) {
            self.base = base
            self.size = size
        }
        /// True when `[address, address + width)` lies inside the window.
        @inlinable public func contains(_ address: UInt64, width: UInt64 = 1) -> Bool {
            address >= base && address &- base < size && width <= size - (address &- base)
        }
    }

    /// Number of `cpu` nodes under `/cpus`.
    public var harts: Int = 0
    /// `/cpus/timebase-frequency`, in Hz.
    public var timebaseFrequency: UInt64 = 0
    /// The first `memory` node.
    public var memory = Region(base: 0, size: 0)
    /// The CLINT (`riscv,clint0` / `sifive,clint0`).
    public var clint = Region(base: 0, size: 0)
    /// The PLIC (`riscv,plic0` / `sifive,plic-1.0.0`).
    public var plic = Region(base: 0, size: 0)
    /// `riscv,ndev` of the PLIC: the number of interrupt sources.
    public var plicSources: Int = 0
    /// The first NS16550 UART.
    public var uart = Region(base: 0, size: 0)
    /// The SiFive test device that powers the machine off (`sifive,test0`).
    public var testDevice = Region(base: 0, size: 0)
    /// The second bank of the CFI flash (`cfi-flash`, the second `reg`
    /// pair), where `scripts/run` stages the firmware file for the monitor
    /// to place; size 0 when absent.
    public var stagingFlash = Region(base: 0, size: 0)
    /// The initrd QEMU placed (`/chosen` `linux,initrd-start`/`-end`); size 0
    /// when there is none.
    public var initrd = Region(base: 0, size: 0)
    /// The Advanced Interrupt Architecture's devices, when the machine has
    /// them instead of a PLIC (QEMU `virt,aia=aplic` or `aia=aplic-imsic`).
    public var aia = AIADevices()

    /// True on an AIA machine (an APLIC M domain was found).
    @inlinable public var hasAIA: Bool { aia.aplicMachine.size > 0 }

    public init() {}

    /// Reads the description from a device tree. Assumes the root's
    /// `#address-cells` and `#size-cells` are 2, as on QEMU `virt`; returns
    /// `nil` when the tree lacks a CLINT, memory, harts, or an interrupt
    /// controller for external interrupts (a PLIC or an APLIC M domain).
    @_optimize(size)
    public init?(deviceTree: DeviceTree) {
        var d = PlatformDescription()
        // A node's properties are contiguous in the blob (they precede its
        // children), but `reg` may come before or after `compatible`: collect
        // one node's facts, then file them when the next node begins.
        enum Kind { case other, clint, plic, uart, test, memory, flash, imsics, aplic }
        struct NodeFacts {
            var kind = Kind.other
            var reg: Region? = nil
            var ndev = 0
            var secondReg: Region? = nil
            var aia = AIANodeFacts()
        }
        var aiaNodes = AIANodes()
        var node = UnsafeRawBufferPointer(start: nil, count: 0)
        var facts = NodeFacts()
        var initrdStart: UInt64 = 0
        var initrdEnd: UInt64 = 0
        func file(_ f: NodeFacts) {
            guard let region = f.reg else { return }
            switch f.kind {
            case .clint: d.clint = region
            case .plic:
                d.plic = region
                d.plicSources = f.ndev
            case .uart: if d.uart.size == 0 { d.uart = region }
            case .test: d.testDevice = region
            case .memory: if d.memory.size == 0 { d.memory = region }
            case .flash: if let second = f.secondReg { d.stagingFlash = second }
            case .imsics, .aplic:
                var facts = f.aia
                facts.region = region
                facts.isIMSIC = f.kind == .imsics
                facts.severalRegions = f.secondReg != nil
                aiaNodes.add(facts)
            case .other: break
            }
        }
        let ok = deviceTree.forEachProperty { p in
            if p.node.baseAddress != node.baseAddress {
                file(facts)
                node = p.node
                facts = NodeFacts()
            }
            if p.named("compatible") {
                if p.containsString("riscv,clint0") || p.containsString("sifive,clint0") { facts.kind = .clint }
                else if p.containsString("riscv,plic0") || p.containsString("sifive,plic-1.0.0") { facts.kind = .plic }
                else if p.containsString("ns16550a") { facts.kind = .uart }
                else if p.containsString("sifive,test0") { facts.kind = .test }
                else if p.containsString("cfi-flash") { facts.kind = .flash }
                else if p.containsString("riscv,imsics") { facts.kind = .imsics }
                else if p.containsString("riscv,aplic") { facts.kind = .aplic }
            } else if p.named("device_type") {
                if p.containsString("memory") { facts.kind = .memory }
                if p.depth == 3 && p.inNode("cpu") && p.containsString("cpu") { d.harts += 1 }
            } else if p.named("timebase-frequency") && p.depth == 2 {
                d.timebaseFrequency = p.value.count == 8 ? p.cells64(0) : UInt64(p.cell(0))
            } else if p.depth == 2 && p.inNode("chosen") && (p.named("linux,initrd-start") || p.named("linux,initrd-end")) {
                let value = p.value.count == 8 ? p.cells64(0) : UInt64(p.cell(0))
                if p.named("linux,initrd-start") {
                    initrdStart = value
                } else {
                    initrdEnd = value
                }
            } else if p.named("riscv,ndev") {
                facts.ndev = Int(p.cell(0))
            } else if p.named("phandle") && p.value.count >= 4 {
                facts.aia.phandle = p.cell(0)
            } else if p.named("msi-parent") && p.value.count >= 4 {
                facts.aia.msiParent = p.cell(0)
            } else if p.named("interrupts-extended") && p.value.count >= 8 {
                facts.aia.interrupt = p.cell(1)
            } else if (p.named("riscv,num-ids") || p.named("riscv,num-sources")) && p.value.count >= 4 {
                facts.aia.count = Int(p.cell(0))
            } else if p.named("reg") && p.value.count >= 16 {
                facts.reg = Region(base: p.cells64(0), size: p.cells64(2))
                if p.value.count >= 32 { facts.secondReg = Region(base: p.cells64(4), size: p.cells64(6)) }
            }
            return true
        }
        file(facts)
        if initrdEnd > initrdStart { d.initrd = Region(base: initrdStart, size: initrdEnd - initrdStart) }
        d.aia = aiaNodes.resolve()
        guard ok, d.harts > 0, d.clint.size > 0, d.plic.size > 0 || d.hasAIA, d.memory.size > 0 else { return nil }
        self = d
    }
}
