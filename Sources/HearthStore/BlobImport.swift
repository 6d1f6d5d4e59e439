import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Copying a local file (a Modelfile's `FROM ./model.gguf`) into the blob store.
extension ModelStore {
    /// Bytes read per step while hashing or copying.
    static let chunkSize = 4 << 20

    /// Progress of an import: the phase, bytes done, bytes in all, and the digest once known.
    public struct ImportProgress: Sendable {
        public enum Phase: Sendable { case hashing, copying, existing }
        public var phase: Phase
        public var done: Int64
        public var total: Int64
        public var digest: String?
    }

    /// Imports a file as a blob, as Ollama's `create` does: hash it, then (unless that blob is already stored)
    /// copy it under a temporary name while hashing the copy, and rename the copy into place only if its digest
    /// equals the first pass's (the file did not change under us). Returns the layer.
    public func importFile(_ path: String, mediaType: String,
                           progress: (ImportProgress) -> Void = { _ in }) throws -> Manifest.Layer {
        let source = URL(fileURLWithPath: path)
        let total = try fileSize(path)
        progress(ImportProgress(phase: .hashing, done: 0, total: total, digest: nil))
        let digest = "sha256:" + (try hashFile(source, total: total) { done in
            progress(ImportProgress(phase: .hashing, done: done, total: total, digest: nil))
        })
        let layer = Manifest.Layer(mediaType: mediaType, digest: digest, size: total)
        if blobIsPresent(layer) {
            progress(ImportProgress(phase: .existing, done: total, total: total, digest: digest))
            return layer
        }
        try createDirectory(blobsDirectory)
        let tmp = temporaryURL(in: blobsDirectory)
        do {
            let copied = try copyHashing(source, to: tmp, total: total) { done in
                progress(ImportProgress(phase: .copying, done: done, total: total, digest: digest))
            }
            guard "sha256:" + copied == digest else {
                throw StoreError.digestMismatch(what: "\(path) (changed while being copied)", expected: digest, actual: "sha256:" + copied)
            }
            try installVerified(tmp, digest: digest)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        return layer
    }

    /// The size of the file a path names, following symbolic links (stat(2), not lstat: a Modelfile's FROM is
    /// often a link to the real model).
    func fileSize(_ path: String) throws -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw StoreError.io(path: path, message: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw StoreError.io(path: path, message: "is a directory, expected a .gguf file") }
        return Int64(st.st_size)
    }

    /// sha256 of a whole file, hex.
    func hashFile(_ url: URL, total: Int64, progress: (Int64) -> Void) throws -> String {
        let handle = try openForReading(url)
        defer { try? handle.close() }
        var hasher = SHA256()
        var done: Int64 = 0
        while true {
            let chunk = try read(handle, url)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            done += Int64(chunk.count)
            progress(done)
        }
        return hexString(hasher.finalize())
    }

    /// Copies `source` to `destination` (created), hashing what it writes; fsyncs before returning the hex digest.
    func copyHashing(_ source: URL, to destination: URL, total: Int64, progress: (Int64) -> Void) throws -> String {
        let input = try openForReading(source)
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
            throw StoreError.io(path: destination.path, message: "cannot create the file")
        }
        let output: FileHandle
        do { output = try FileHandle(forWritingTo: destination) } catch {
            throw StoreError.io(path: destination.path, message: "cannot open for writing: \(error.localizedDescription)")
        }
        defer { try? output.close() }
        var hasher = SHA256()
        var done: Int64 = 0
        while true {
            let chunk = try read(input, source)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            do { try output.write(contentsOf: chunk) } catch {
                throw StoreError.io(path: destination.path, message: "write failed: \(error.localizedDescription)")
            }
            done += Int64(chunk.count)
            progress(done)
        }
        do { try output.synchronize() } catch {
            throw StoreError.io(path: destination.path, message: "fsync failed: \(error.localizedDescription)")
        }
        return hexString(hasher.finalize())
    }

    func openForReading(_ url: URL) throws -> FileHandle {
        do { return try FileHandle(forReadingFrom: url) } catch {
            throw StoreError.io(path: url.path, message: "cannot open for reading: \(error.localizedDescription)")
        }
    }

    func read(_ handle: FileHandle, _ url: URL) throws -> Data {
        do { return try handle.read(upToCount: ModelStore.chunkSize) ?? Data() } catch {
            throw StoreError.io(path: url.path, message: "read failed: \(error.localizedDescription)")
        }
    }
}
