#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be mapped: the path, the system call that failed and the OS's reason.
public struct MappedFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    /// The failing step: "open", "stat", "mmap", or "not a regular file".
    public let operation: String
    public let reason: String

    public var description: String { "cannot map '\(path)': \(operation) failed: \(reason)" }
}

/// A read-only view of a whole file's bytes that owns its memory.
///
/// Model files are mapped rather than read so that weights are paged in lazily and shared with the page cache
/// (design.md decision 2, "weights by view"): a `TensorView` is a pointer into this mapping, never a copy. The
/// mapping lives exactly as long as this object, so whoever hands out views into `bytes` must keep the
/// `MappedFile` alive while they are used.
///
/// It can also own a heap copy of some bytes (`init(copying:name:)`), so parsers can be tested on in-memory
/// buffers through the same code path as real files.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the memory is never written after init and is released only in deinit.

    /// The file path (or the name given to an in-memory buffer); used in error messages.
    public let path: String
    /// All of the file's bytes. Empty (nil base address) for an empty file.
    public let bytes: UnsafeRawBufferPointer
    private let isMapped: Bool

    /// Size of the file in bytes.
    public var count: Int { bytes.count }

    /// Maps `path` read-only (`PROT_READ`, `MAP_PRIVATE`). Throws `MappedFileError` naming the path when the
    /// file cannot be opened, is not a regular file, or cannot be mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MappedFileError(path: path, operation: "open", reason: MappedFile.lastErrorString())
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw MappedFileError(path: path, operation: "stat", reason: MappedFile.lastErrorString())
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw MappedFileError(path: path, operation: "open",
                                  reason: "not a regular file (is it a directory?)")
        }
        let size = Int(st.st_size)
        if size == 0 {
            // mmap rejects a zero length; an empty file simply has no bytes.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {  // MAP_FAILED
            throw MappedFileError(path: path, operation: "mmap", reason: MappedFile.lastErrorString())
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: size)
        isMapped = true
    }

    /// Owns a heap copy of `source`, named `name` in error messages. For tests and in-memory files.
    public init(copying source: [UInt8], name: String) {
        path = name
        isMapped = false
        if source.isEmpty {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        // 64-byte alignment so tensor views into the copy are as aligned as they would be in a mapping.
        let mem = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
        source.withUnsafeBytes { src in
            if let base = src.baseAddress { mem.copyMemory(from: base, byteCount: src.count) }
        }
        bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(mem), count: source.count)
    }

    /// Drops the whole pages inside `start ..< start + count` from this process's resident set
    /// (`madvise(MADV_DONTNEED)`). For a read-only private file mapping that only costs a page fault (a re-read
    /// from the page cache) if the bytes are read again; their contents never change. A heap copy is left alone:
    /// there the same call would zero the bytes.
    public func releasePages(_ start: UnsafeRawPointer, count: Int) {
        guard isMapped, let base = bytes.baseAddress, count > 0, start >= base,
              start + count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + count) / page * page
        guard end > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, end - first, Int32(MADV_DONTNEED))
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    private static func lastErrorString() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}
