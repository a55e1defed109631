/// Where a firmware file goes in memory: exactly where QEMU's `-bios` puts it
/// (QEMU 7.2 `hw/riscv/boot.c`, `riscv_load_firmware`): an ELF's loadable
/// segments at their physical addresses (`p_paddr`, the part past
/// `p_filesz` zero-filled), anything else as a raw binary at the start of
/// DRAM. Whatever the file's entry point, the harts enter it at the start of
/// DRAM, where QEMU's reset code jumps.
///
/// Parsing trusts nothing in the file: counts, offsets and sizes are checked
/// and a bad file yields a ``Problem``, never a crash.
public struct FirmwareImage: Sendable {
    /// One piece of the file to copy: `fileSize` bytes from `fileOffset`
    /// to `address`, then zeros up to `memorySize`.
    public struct Segment: Equatable, Sendable {
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var address: UInt64
        public var memorySize: UInt64

        public init(fileOffset: UInt64, fileSize: UInt64, address: UInt64, memorySize: UInt64) {
            self.fileOffset = fileOffset
            self.fileSize = fileSize
            self.address = address
            self.memorySize = memorySize
        }

        /// The bytes it occupies in memory.
        public var range: PlatformDescription.Region { PlatformDescription.Region(base: address, size: memorySize) }
    }

    /// Why a file cannot be placed.
    public enum Problem: Error, Equatable, Sendable {
        /// An ELF file that is not 64-bit little-endian RISC-V (QEMU's
        /// rv64 machine would not load it as an ELF either).
        case unsupportedELF
        /// Program headers that lie outside the part of the file read first.
        case programHeadersOutOfReach
        /// More loadable segments than ``maximumSegments``.
        case tooManySegments
        /// A segment whose file bytes lie past the end of the file, or whose
        /// file size exceeds its memory size.
        case malformedSegment
        /// A segment outside the memory the firmware may occupy.
        case outsideMemory(Segment)
        /// Two segments that overlap (QEMU refuses overlapping images).
        case overlappingSegments
        /// A file with nothing to load.
        case empty
    }

    /// The most loadable segments a firmware may have.
    public static var maximumSegments: Int { 16 }
    /// The file bytes ``parse(header:fileSize:dramBase:)`` needs: the ELF
    /// header and program headers must lie in them.
    public static var headerBytes: Int { 4096 }

    /// The loadable segments, in file order (the order a sequential reader
    /// meets them).
    public private(set) var segments: InlineArray<16, Segment>
    public private(set) var segmentCount: Int
    /// Whether the file was an ELF (otherwise a raw binary).
    public let isELF: Bool

    init(isELF: Bool) {
        self.isELF = isELF
        segments = InlineArray(repeating: Segment(fileOffset: 0, fileSize: 0, address: 0, memorySize: 0))
        segmentCount = 0
    }

    static func le(_ b: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in (0..<width).reversed() { value = value << 8 | UInt64(b[offset + i]) }
        return value
    }

    /// Reads the placement of a file of `fileSize` bytes from its first
    /// bytes, `header` (up to ``headerBytes``).
    @_optimize(size)
    public static func parse(header: UnsafeRawBufferPointer, fileSize: UInt64,
                             dramBase: UInt64) -> Result<FirmwareImage, Problem> {
        guard fileSize > 0 else { return .failure(.empty) }
        let isELF = header.count >= 4 && header[0] == 0x7F && header[1] == 0x45 && header[2] == 0x4C && header[3] == 0x46
        guard isELF else {
            var image = FirmwareImage(isELF: false)
            image.segments[0] = Segment(fileOffset: 0, fileSize: fileSize, address: dramBase, memorySize: fileSize)
            image.segmentCount = 1
            return .success(image)
        }
        // e_ident: ELFCLASS64, ELFDATA2LSB; e_machine EM_RISCV (243).
        guard header.count >= 64, header[4] == 2, header[5] == 1, le(header, 18, 2) == 243 else {
            return .failure(.unsupportedELF)
        }
        let phoff = le(header, 32, 8)
        let phentsize = le(header, 54, 2)
        let phnum = le(header, 56, 2)
        guard phentsize >= 56, phnum <= 256, phoff <= UInt64(header.count),
              phnum * phentsize <= UInt64(header.count) - phoff else {
            return .failure(.programHeadersOutOfReach)
        }
        var image = FirmwareImage(isELF: true)
        for i in 0..<Int(phnum) {
            let at = Int(phoff) + i * Int(phentsize)
            guard le(header, at, 4) == 1 else { continue }   // PT_LOAD
            let segment = Segment(fileOffset: le(header, at + 8, 8), fileSize: le(header, at + 32, 8),
                                  address: le(header, at + 24, 8), memorySize: le(header, at + 40, 8))
            guard segment.memorySize > 0 else { continue }
            guard segment.fileSize <= segment.memorySize, segment.fileOffset <= fileSize,
                  segment.fileSize <= fileSize - segment.fileOffset,
                  segment.address &+ segment.memorySize >= segment.address else {
                return .failure(.malformedSegment)
            }
            guard image.segmentCount < maximumSegments else { return .failure(.tooManySegments) }
            // Insert in file order.
            var j = image.segmentCount
            while j > 0 && image.segments[j - 1].fileOffset > segment.fileOffset {
                image.segments[j] = image.segments[j - 1]
                j -= 1
            }
            image.segments[j] = segment
            image.segmentCount += 1
        }
        guard image.segmentCount > 0 else { return .failure(.empty) }
        for a in 0..<image.segmentCount {
            for b in (a + 1)..<image.segmentCount where image.segments[a].range.overlaps(image.segments[b].range) {
                return .failure(.overlappingSegments)
            }
        }
        return .success(image)
    }

    /// Checks that every segment lies in `memory` and clear of each region
    /// in `reserved` (the monitor, the device tree, the initrd QEMU placed).
    public func check(memory: PlatformDescription.Region,
                      reserved: (PlatformDescription.Region, PlatformDescription.Region, PlatformDescription.Region))
        -> Problem? {
        for i in 0..<segmentCount {
            let s = segments[i]
            guard memory.contains(s.address, width: s.memorySize),
                  !s.range.overlaps(reserved.0), !s.range.overlaps(reserved.1), !s.range.overlaps(reserved.2) else {
                return .outsideMemory(s)
            }
        }
        return nil
    }
}

extension PlatformDescription.Region {
    /// Whether the two regions share a byte (an empty region shares none).
    public func overlaps(_ other: PlatformDescription.Region) -> Bool {
        size > 0 && other.size > 0 && base < other.base &+ other.size && other.base < base &+ size
    }
}
